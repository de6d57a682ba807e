/**
 * `pipeline ui [--store D] [--port P] [--host H]`: serves the dashboard of a store
 * (README.md, "The dashboard") until Ctrl-C. Loopback (127.0.0.1) unless --host says
 * otherwise; on any other address every request needs the token printed here.
 */
import { Effect, Layer } from "effect"
import { Command, Flag } from "effect/cli"
import { accessFor } from "../ui/access.ts"
import { startDashboard } from "../ui/server.ts"
import { noStoreBudget, StoreBudget } from "../ui/store-budget.ts"
import { print, storeFlag, storeOf } from "./common.ts"

/** The `ui` verb; the composition root passes the store budget layer (it knows the accountants). */
export const makeUiCommand = (budget: Layer.Layer<StoreBudget> = noStoreBudget) => Command.make(
  "ui",
  {
    store: storeFlag,
    port: Flag.Int("port").pipe(Flag.withDescription("port to listen on (default 4280; 0: any free port)"), Flag.withDefault(4280)),
    host: Flag.String("host").pipe(Flag.withDescription("address to listen on (default 127.0.0.1); any other address requires the token printed at start"), Flag.withDefault("127.0.0.1"))
  },
  (a) =>
    Effect.scoped(
      Effect.gen(function* () {
        const store = storeOf(a.store)
        const access = accessFor(a.host)
        const running = yield* startDashboard({ store, access, host: a.host, port: a.port })
        const note = access.token !== undefined
          ? `listening on ${a.host}, reachable from other machines: every request needs the token in this link (keep it secret)\n`
          : ""
        yield* print(`${note}dashboard of ${store.root}: ${running.url}\n(Ctrl-C stops it)`)
        return yield* Effect.never
      })
    ).pipe(Effect.provide(budget))
).pipe(Command.withDescription("Serve a live dashboard of the store's runs (runs, DAG, training curves, privacy spend, artifacts)."))

