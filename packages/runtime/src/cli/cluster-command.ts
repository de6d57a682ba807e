/**
 * `pipeline cluster status --cluster URL`: the runners of a cluster, their slots and
 * capabilities, and the stages each executes. Also the `--cluster` flag that `run` and
 * `resume` share (cluster/dispatcher.ts).
 */
import { Effect } from "effect"
import { Command, Flag } from "effect/cli"
import { listRunners } from "../cluster/registry.ts"
import { sqlLayer } from "../cluster/connection.ts"
import { withClusterDispatch } from "../cluster/dispatcher.ts"
import type { StoreLayout } from "../store/layout.ts"
import { jsonFlag, print, textTable } from "./common.ts"

export const clusterFlag = Flag.String("cluster").pipe(
  Flag.withDescription("Postgres URL of a cluster (postgres://USER@HOST:PORT/DB): stages execute on its runners (`pipeline runner`), which share --store"),
  Flag.optional
)

/** `effect` with its stages dispatched to the cluster when a URL is given, else as it is. */
export const dispatchedBy = (cluster: { readonly _tag: "Some"; readonly value: string } | { readonly _tag: "None" }, store: StoreLayout) =>
  <A, E, R>(effect: Effect.Effect<A, E, R>) => (cluster._tag === "Some" ? withClusterDispatch(cluster.value, store)(effect) : effect)

const clusterUrlFlag = Flag.String("cluster").pipe(Flag.withDescription("Postgres URL of the cluster (postgres://USER@HOST:PORT/DB)"))

const age = (seconds: number): string => (seconds < 90 ? `${seconds.toFixed(0)} s ago` : `${(seconds / 60).toFixed(0)} min ago`)

export const clusterStatusCommand = Command.make(
  "status",
  { cluster: clusterUrlFlag, json: jsonFlag },
  (a) =>
    Effect.gen(function* () {
      const runners = yield* listRunners
      if (a.json) return yield* print(JSON.stringify({ runners }))
      const live = runners.filter((r) => r.alive)
      if (runners.length === 0) return yield* print("no runners registered: start one with `pnpm pipeline runner --cluster URL --store DIR`")
      const rows = runners.map((r) => [
        r.address,
        r.storeId,
        r.alive ? "live" : `gone (last seen ${age(r.heartbeatAgeSeconds)})`,
        `${r.running.length}/${r.slots}`,
        r.capabilities.join(" "),
        r.running.length === 0 ? "idle" : r.running.map((s) => `${s.runId}:${s.node}`).join(", ")
      ])
      yield* print(`${textTable(["runner", "store", "state", "slots used", "capabilities", "running"], rows)}\n${live.length} live runner(s), ${live.reduce((n, r) => n + r.slots, 0)} slot(s)`)
    }).pipe(Effect.provide(sqlLayer(a.cluster)))
).pipe(Command.withDescription("The cluster's runners: their slots, capabilities and the stages each executes."))

export const clusterCommand = Command.make("cluster").pipe(
  Command.withDescription("Inspect a cluster of runners (see `pipeline runner`)."),
  Command.withSubcommands([clusterStatusCommand])
)
