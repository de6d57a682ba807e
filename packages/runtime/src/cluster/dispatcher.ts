/**
 * The cluster dispatcher: the coordinator's side of `pipeline run|resume --cluster URL`.
 *
 * The executor plans, keys and looks up the cache as for a local run; a stage it must
 * execute comes here. The dispatcher picks a live runner that has the capabilities
 * the stage's perf flags ask for (capabilities.ts) and a free slot, preferring the
 * least loaded one (so independent stages spread), or the one already executing that
 * stage key (a resumed coordinator); with none, it waits and says what it waits for.
 * It then sends the persisted `Execute` message to an entity id whose shard that runner
 * owns, follows the stage's events in the shared store (remote-events.ts) and returns
 * the manifest of the reply. A runner that lacks a capability (its shard moved to it
 * when the chosen runner died) hands the stage back and it is sent elsewhere.
 */
import { Effect, Exit, Fiber, Layer, Schema } from "effect"
import { EntityId, Sharding, ShardId } from "effect/cluster"
import { SqlClient } from "effect/sql"
import { stat } from "node:fs/promises"
import { relative } from "node:path"
import { canonicalJson, LedgerError } from "@dpipe/dsl"
import { messageOf } from "../errors.ts"
import { readEventsFrom } from "../progress/events-file.ts"
import type { RunEvent } from "../progress/events.ts"
import { StageDispatcher, type StageDispatch, type StageDispatcherShape } from "../stage-dispatcher.ts"
import type { StoreLayout } from "../store/layout.ts"
import { Manifest } from "../store/records.ts"
import { requirementsOf, unmet } from "./capabilities.ts"
import { sqlLayer, withAdvisoryLock } from "./connection.ts"
import { DpipeStage, type StageJob } from "./protocol.ts"
import { listRunners, shardOwners, type RunnerRow } from "./registry.ts"
import { remoteEventsFile } from "./remote-events.ts"
import { clientClusterLayer } from "./sharding.ts"
import { storeId } from "./store-id.ts"

const decodeManifest = Schema.decodeUnknownSync(Schema.fromJsonString(Manifest))

/** The name of the Postgres lock that serializes writes of a run's ledger file. */
export const ledgerLockName = (store: StoreLayout, ledgerPath: string): string => `dpipe-ledger:${relative(store.root, ledgerPath)}`

const transient = new Set(["MailboxFull", "AlreadyProcessingMessage", "EntityNotAssignedToRunner"])

export const makeClusterDispatcher = (store: StoreLayout) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const sharding = yield* Sharding.Sharding
    const clientFor = yield* DpipeStage.client
    /** Stage key -> runner address, for the stages this coordinator has sent and not got back. */
    const inFlight = new Map<string, string>()

    const load = (r: RunnerRow): number => {
      const keys = new Set(r.running.map((s) => s.key))
      for (const [key, address] of inFlight) if (address === r.address) keys.add(key)
      return keys.size
    }

    const pickRunner = (d: StageDispatch, store: string, requires: ReadonlyArray<string>, exclude: ReadonlySet<string>) =>
      Effect.gen(function* () {
        let said = ""
        while (true) {
          const live = (yield* listRunners).filter((r) => r.alive && r.storeId === store)
          const already = live.find((r) => r.running.some((s) => s.key === d.key))
          if (already !== undefined && !exclude.has(already.address)) return already
          const able = live.filter((r) => !exclude.has(r.address) && unmet(requires, r.capabilities).length === 0)
          const free = able.filter((r) => load(r) < r.slots).sort((a, b) => load(a) / a.slots - load(b) / b.slots || a.address.localeCompare(b.address))
          if (free.length > 0) return free[0]!
          const why = live.length === 0
            ? `no runner of this store (id ${store}) is live: start one with \`pnpm pipeline runner --cluster URL --store DIR\` on this store`
            : able.length === 0
            ? `no live runner has ${requires.join(", ")} (live: ${live.map((r) => `${r.address} [${r.capabilities.join(", ")}]`).join("; ")})`
            : `every runner that can take it is busy (${able.map((r) => `${r.address} ${load(r)}/${r.slots}`).join(", ")})`
          if (why !== said) d.emit({ type: "stage-info", node: d.node.id, message: `waiting for a runner: ${why}` })
          said = why
          yield* Effect.sleep("1 second")
        }
      }).pipe(Effect.provideService(SqlClient.SqlClient, sql))

    /** An entity id for the stage whose shard `address` holds (the first such suffix). */
    const entityIdFor = (d: StageDispatch, address: string) =>
      Effect.gen(function* () {
        const owners = yield* shardOwners
        const base = `${d.runId}/${d.node.id}`
        for (let n = 0; n < 4000; n++) {
          const id = `${base}/${n}`
          if (owners.get(ShardId.toString(sharding.getShardId(EntityId.make(id), "default"))) === address) return id
        }
        return `${base}/0`
      }).pipe(Effect.provideService(SqlClient.SqlClient, sql))

    let myStore: string | undefined
    const dispatch = (d: StageDispatch): Effect.Effect<Manifest, string> =>
      Effect.gen(function* () {
        myStore ??= yield* Effect.tryPromise({ try: () => storeId(store), catch: (e) => `reading the store secret: ${messageOf(e)}` })
        const requires = requirementsOf(d.node.perfEncoded)
        const job: StageJob = {
          storeId: myStore,
          runId: d.runId,
          pipeline: d.plan.pipeline.name,
          scale: d.plan.scale,
          settings: { ...d.plan.settings },
          node: d.node.id,
          key: d.key,
          code: d.code,
          config: canonicalJson(d.node.configEncoded),
          inputs: Object.fromEntries(Object.entries(d.inputs).map(([k, v]) => [k, { path: relative(store.root, v.path), hash: v.hash }])),
          requires,
          checkpointKeep: d.checkpointKeep
        }
        // Follow the stage's events from what is in the file now.
        const eventsPath = remoteEventsFile(store, d.runId, d.node.id)
        let offset = yield* Effect.promise(() => stat(eventsPath).then((s) => s.size, () => 0))
        const drain = Effect.gen(function* () {
          const { events, next } = yield* Effect.promise(() => readEventsFrom(eventsPath, offset).catch(() => ({ events: [], next: offset })))
          offset = next
          for (const { time: _, ...event } of events) {
            d.emit(event as RunEvent)
            if (event.type === "stage-telemetry") yield* d.telemetry(event.values)
          }
        })
        const tail = yield* Effect.forkChild(Effect.forever(Effect.sleep("300 millis").pipe(Effect.andThen(drain)), { disableYield: true }))
        const exclude = new Set<string>()
        return yield* Effect.gen(function* () {
          while (true) {
            const runner = yield* pickRunner(d, myStore!, requires, exclude)
            const entityId = yield* entityIdFor(d, runner.address)
            inFlight.set(d.key, runner.address)
            d.emit({ type: "stage-info", node: d.node.id, message: `sent to runner ${runner.address} (${runner.host})` })
            const exit = yield* Effect.exit(clientFor(entityId).Execute({ job, attempt: new Date().toISOString() }))
            inFlight.delete(d.key)
            if (Exit.isSuccess(exit)) {
              yield* drain
              return yield* Effect.try({ try: () => decodeManifest(exit.value), catch: (e) => `the reply of runner ${runner.address} for ${d.node.id} is not a manifest: ${messageOf(e)}` })
            }
            const failure = exit.cause.reasons.find((r) => r._tag === "Fail")
            if (failure === undefined) return yield* Effect.failCause(exit.cause)
            const error = failure.error as { readonly _tag?: string; readonly redispatch?: boolean; readonly message?: string }
            if (error._tag === "StageFailed" && error.redispatch === true) {
              d.emit({ type: "stage-info", node: d.node.id, message: `${error.message ?? "runner refused"}; sending it to another runner` })
              exclude.add(runner.address)
              continue
            }
            if (error._tag !== undefined && transient.has(error._tag)) {
              yield* Effect.sleep("1 second")
              continue
            }
            yield* drain
            return yield* Effect.fail(error._tag === "StageFailed" ? error.message ?? "stage failed" : `the cluster could not run ${d.node.id}: ${messageOf(error)}`)
          }
        }).pipe(Effect.ensuring(Fiber.interrupt(tail)), Effect.ensuring(Effect.sync(() => inFlight.delete(d.key))))
      }).pipe(Effect.mapError((e) => (typeof e === "string" ? e : messageOf(e))))

    const shape: StageDispatcherShape = {
      dispatch,
      // Runners' slots bound the work; the pipeline's limit is for one process.
      concurrency: () => 1_000,
      ledgerLock: (ledgerPath) => (effect) =>
        effect.pipe(
          withAdvisoryLock(ledgerLockName(store, ledgerPath)),
          Effect.mapError((e) => (typeof e === "object" && e !== null && (e as { _tag?: unknown })._tag === "ClusterError" ? new LedgerError({ message: (e as { message: string }).message }) : e)),
          Effect.provideService(SqlClient.SqlClient, sql)
        ) as never
    }
    return shape
  })

/** Runs `effect` with its stages dispatched to the cluster at `url` (fails with ClusterUnreachable first). */
export const withClusterDispatch = (url: string, store: StoreLayout) => <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function* () {
    const dispatcher = yield* makeClusterDispatcher(store)
    return yield* effect.pipe(Effect.provideService(StageDispatcher, dispatcher))
  }).pipe(Effect.provide(Layer.provideMerge(clientClusterLayer, sqlLayer(url))), Effect.scoped)
