/**
 * `pipeline runner --cluster URL --store DIR [--host H] [--port P] [--slots K]
 * [--capability key=value]...`: a long-running process that executes stages for any
 * coordinator of the cluster (cluster/runner.ts). Stop it with SIGTERM or Ctrl-C: its
 * stages write their checkpoints and another runner resumes them.
 */
import { Effect } from "effect"
import { Command, Flag } from "effect/cli"
import { runnerCapabilities, validCapability } from "../cluster/capabilities.ts"
import { ClusterError } from "../cluster/errors.ts"
import { defaultRunnerHost, runnerProgram } from "../cluster/runner.ts"
import { optionValue, storeFlag, storeOf } from "./common.ts"

export const runnerCommand = Command.make(
  "runner",
  {
    cluster: Flag.String("cluster").pipe(Flag.withDescription("Postgres URL of the cluster (postgres://USER@HOST:PORT/DB)")),
    store: storeFlag,
    host: Flag.String("host").pipe(Flag.withDescription("address other machines reach this runner at (default: the host name)"), Flag.optional),
    listen: Flag.String("listen").pipe(Flag.withDescription("address to listen on (default: 0.0.0.0)"), Flag.withDefault("0.0.0.0")),
    port: Flag.Int("port").pipe(Flag.withDescription("TCP port of this runner (default 34431)"), Flag.withDefault(34431)),
    slots: Flag.Int("slots").pipe(Flag.withDescription("stages executed at once (default 1)"), Flag.withDefault(1)),
    capability: Flag.String("capability").pipe(Flag.withDescription("a capability this runner offers, key=value (repeatable): backend=tensorflow, cores=8"), Flag.atLeast(0))
  },
  (a) =>
    Effect.gen(function* () {
      if (a.slots < 1) return yield* new ClusterError({ message: `--slots ${a.slots}: give at least 1` })
      const bad = a.capability.filter((c) => !validCapability(c))
      if (bad.length > 0) return yield* new ClusterError({ message: `--capability ${bad.join(", ")}: write key=value (backend=tensorflow)` })
      yield* runnerProgram({
        url: a.cluster,
        store: storeOf(a.store),
        host: optionValue(a.host) ?? defaultRunnerHost(),
        listenHost: a.listen,
        port: a.port,
        slots: a.slots,
        capabilities: runnerCapabilities(a.capability)
      })
    })
).pipe(Command.withDescription("Run a cluster runner: it executes stages for any `run --cluster` coordinator, on the shared store."))
