/**
 * A cluster runner (`pipeline runner --cluster URL --store DIR`): a long-running
 * process that executes stages for any coordinator.
 *
 * It joins Effect Cluster as a runner (sharding.ts) and hosts the `DpipeStage` entity
 * (protocol.ts). For each `Execute` message it checks its capabilities, waits for one
 * of its `slots`, takes the stage's lease (registry.ts), re-plans the pipeline from the
 * job (the same pipeline file, scale and settings), refuses when its code or the node's
 * config differ from the coordinator's, reuses the cache entry when another runner has
 * finished the stage meanwhile, and otherwise executes the stage with the executor's
 * own `executeStage` on the shared store: checkpoints under the run, outputs into the
 * cache, ledger entries into the run's ledger under a Postgres lock. Its events go to
 * remote-events.ts's file; its own log to `<store>/runners/<address>.log`.
 *
 * SIGTERM interrupts the running stages (each writes its checkpoint) and leaves their
 * messages to the runner that takes over the shards; SIGKILL does the same, later (when
 * the shard locks and the stage lease expire).
 */
import { Effect, Layer, Semaphore } from "effect"
import { SqlClient } from "effect/sql"
import { appendFileSync, mkdirSync } from "node:fs"
import { hostname } from "node:os"
import { join } from "node:path"
import { canonicalJson, Plan } from "@dpipe/dsl"
import { LedgerError } from "@dpipe/dsl"
import { executeStage, mergeLedger, verifyCacheEntry, type StageEnv } from "../executor.ts"
import { messageOf } from "../errors.ts"
import { planFingerprints } from "../code/fingerprint.ts"
import { planDatasets } from "../dataset-budget.ts"
import { loadPipeline, pipelinesDir } from "../pipelines.ts"
import { eventsFileReporter } from "../progress/events-file.ts"
import type { RunEvent } from "../progress/events.ts"
import { readLedger, writeLedger } from "../store/ledger-file.ts"
import type { StoreLayout } from "../store/layout.ts"
import { loadOrCreateSecret } from "../store/secret.ts"
import { restrictUmask } from "../store/permissions.ts"
import { HEARTBEAT_SECONDS, displayUrl, sqlLayer, withAdvisoryLock } from "./connection.ts"
import { DpipeStage, StageFailed, type StageJob } from "./protocol.ts"
import { leaseHolder, releaseLease, removeRunner, takeLease, upsertRunner, type RunningStage } from "./registry.ts"
import { remoteEventsFile } from "./remote-events.ts"
import { ledgerLockName } from "./dispatcher.ts"
import { runnerClusterLayer } from "./sharding.ts"
import { unmet } from "./capabilities.ts"
import { ClusterError } from "./errors.ts"
import { storeId } from "./store-id.ts"

export interface RunnerOptions {
  readonly url: string
  readonly store: StoreLayout
  /** The address other processes reach this runner at. */
  readonly host: string
  readonly port: number
  /** The address it listens on (default: all interfaces). */
  readonly listenHost: string
  readonly slots: number
  readonly capabilities: ReadonlyArray<string>
}

export const runnerLogFile = (store: StoreLayout, address: string): string => join(store.root, "runners", `${address.replace(/[^A-Za-z0-9_.-]/g, "_")}.log`)

/** Runs a runner until it is interrupted (SIGTERM, Ctrl-C). */
export const runRunner = (options: RunnerOptions) =>
  Effect.gen(function* () {
    const { store } = options
    const address = `${options.host}:${options.port}`
    restrictUmask()
    mkdirSync(join(store.root, "runners"), { recursive: true, mode: 0o700 })
    const logPath = runnerLogFile(store, address)
    const log = (message: string) => {
      const line = `${new Date().toISOString()} ${message}\n`
      process.stdout.write(line)
      try {
        appendFileSync(logPath, line, { mode: 0o600 })
      } catch {
        // the log is best effort
      }
    }
    const running = new Map<string, RunningStage>()
    const startedAt = new Date().toISOString()
    const slots = yield* Semaphore.make(Math.max(1, options.slots))
    const sql = yield* SqlClient.SqlClient
    // The store's identity (and its secret, created here when the store is new).
    const myStore = yield* Effect.tryPromise({ try: () => storeId(store), catch: (e) => new ClusterError({ message: `reading the store secret ${store.secret}: ${messageOf(e)}` }) })
    const heartbeat = Effect.suspend(() => upsertRunner({ address, storeId: myStore, host: hostname(), pid: process.pid, slots: options.slots, capabilities: options.capabilities, running: [...running.values()], startedAt }))
    yield* heartbeat
    yield* Effect.forkScoped(Effect.forever(Effect.sleep(`${HEARTBEAT_SECONDS} seconds`).pipe(Effect.andThen(Effect.ignore(heartbeat))), { disableYield: true }))
    yield* Effect.addFinalizer(() => Effect.ignore(removeRunner(address)).pipe(Effect.andThen(Effect.sync(() => log(`runner ${address} stopped`)))))
    log(`runner ${address} (pid ${process.pid}) joined the cluster at ${displayUrl(options.url)}; store ${store.root} (id ${myStore}); ${options.slots} slot(s); capabilities ${options.capabilities.join(", ")}`)

    const runJob = (job: StageJob) =>
      Effect.gen(function* () {
        const entryDir = store.cacheEntry(job.key)
        const cachedManifest = Effect.tryPromise({ try: () => verifyCacheEntry(entryDir, job.key), catch: (e) => `reading the cache: ${messageOf(e)}` })
        // The lease: one runner per stage key. Another runner's stage finishing meanwhile is reused.
        let waited = false
        while (true) {
          const found = yield* cachedManifest
          if (typeof found === "object") {
            log(`stage ${job.node} of ${job.runId}: already in the cache, reused`)
            return JSON.stringify(found)
          }
          if (yield* takeLease(job.key, job.runId, job.node, address)) break
          if (!waited) log(`stage ${job.node} of ${job.runId}: waiting for runner ${yield* leaseHolder(job.key)}, which executes it`)
          waited = true
          yield* Effect.sleep("1 second")
        }
        // Renew the lease while the stage runs; a lease another runner took (this one
        // looked gone) stops the stage here, without a reply: the other one owns it now.
        const renew = Effect.gen(function* () {
          while (true) {
            yield* Effect.sleep(`${HEARTBEAT_SECONDS} seconds`)
            const held = yield* takeLease(job.key, job.runId, job.node, address).pipe(Effect.orElseSucceed(() => true))
            if (!held) {
              log(`stage ${job.node} of ${job.runId}: another runner took its lease; stopping here`)
              return yield* Effect.interrupt
            }
          }
        })
        return yield* Effect.raceFirst(Effect.gen(function* () {
          // Finished between the check and the lease?
          const again = yield* cachedManifest
          if (typeof again === "object") return JSON.stringify(again)
          const graph = yield* loadPipeline(pipelinesDir(), job.pipeline).pipe(Effect.mapError((e) => e.message))
          const planned = Plan.makePlan(graph, { scale: job.scale, settings: job.settings })
          if (!planned.ok) return yield* Effect.fail(`planning ${job.pipeline} at scale ${job.scale}: ${planned.error.message}`)
          const plan = planned.value
          const node = plan.nodes.find((n) => n.id === job.node)
          if (node === undefined) return yield* Effect.fail(`pipeline ${job.pipeline} on runner ${address} has no node ${job.node}: runners must run the coordinator's dpipe and pipelines`)
          const codes = yield* planFingerprints(plan).pipe(Effect.mapError((e) => e.message))
          if (codes[node.id] !== job.code) {
            return yield* Effect.fail(`the code of stage ${node.stage.name} on runner ${address} differs from the coordinator's (fingerprint ${codes[node.id]?.slice(0, 12)} vs ${job.code.slice(0, 12)}): run the same dpipe checkout on every machine`)
          }
          if (canonicalJson(node.configEncoded) !== job.config) {
            return yield* Effect.fail(`runner ${address} plans another config for ${node.id} than the coordinator: run the same dpipe checkout and pipelines on every machine`)
          }
          const secret = yield* Effect.tryPromise({ try: () => loadOrCreateSecret(store.secret), catch: (e) => `reading the store secret: ${messageOf(e)}` })
          const datasets = yield* planDatasets(plan).pipe(Effect.mapError((e) => e.message))
          const events = eventsFileReporter(remoteEventsFile(store, job.runId, job.node))
          const emit = (e: RunEvent) => events.emit(e)
          const ledgerPath = store.ledgerFile(job.runId)
          const readRunLedger = Effect.tryPromise({ try: () => readLedger(ledgerPath), catch: (e) => new LedgerError({ message: `reading ${ledgerPath}: ${messageOf(e)}` }) })
          const env: StageEnv = {
            store, plan, runId: job.runId, node, key: job.key, code: job.code,
            entryDir,
            inputs: Object.fromEntries(Object.entries(job.inputs).map(([k, v]) => [k, { path: join(store.root, v.path), hash: v.hash }])),
            datasets, secret,
            checkpointKeep: job.checkpointKeep,
            emit,
            telemetry: () => Effect.void,
            ledger: {
              entries: readRunLedger,
              upsert: (entries) =>
                Effect.gen(function* () {
                  const next = mergeLedger(yield* readRunLedger, entries)
                  yield* Effect.tryPromise({ try: () => writeLedger(ledgerPath, next), catch: (e) => new LedgerError({ message: `writing ${ledgerPath}: ${messageOf(e)}` }) })
                }).pipe(withAdvisoryLock(ledgerLockName(store, ledgerPath)), Effect.mapError((e) => (e._tag === "ClusterError" ? new LedgerError({ message: e.message }) : e)), Effect.provideService(SqlClient.SqlClient, sql))
            }
          }
          running.set(job.key, { runId: job.runId, node: job.node, key: job.key, since: new Date().toISOString() })
          yield* Effect.ignore(heartbeat)
          log(`stage ${job.node} of ${job.runId}: executing (key ${job.key.slice(0, 12)})`)
          emit({ type: "stage-info", node: job.node, message: `executing on runner ${address} (${hostname()}, pid ${process.pid})` })
          emit({ type: "stage-telemetry", node: job.node, values: { runner: address } })
          return yield* executeStage(env).pipe(
            Effect.tap((m) => Effect.sync(() => log(`stage ${job.node} of ${job.runId}: done in ${(m.durationMs / 1000).toFixed(1)} s`))),
            Effect.map((m) => JSON.stringify(m)),
            Effect.onInterrupt(() => Effect.sync(() => log(`stage ${job.node} of ${job.runId}: interrupted (its checkpoint stays for the runner that resumes it)`))),
            Effect.tapError((e) => Effect.sync(() => log(`stage ${job.node} of ${job.runId}: failed: ${e}`))),
            Effect.ensuring(Effect.sync(() => running.delete(job.key)))
          )
        }), renew).pipe(
          Effect.ensuring(Effect.ignore(releaseLease(job.key, address))),
          Effect.ensuring(Effect.ignore(heartbeat))
        )
      }).pipe(Effect.mapError((e) => (typeof e === "string" ? e : messageOf(e))), Effect.provideService(SqlClient.SqlClient, sql))

    const handlers = DpipeStage.toLayer(
      Effect.succeed(
        DpipeStage.of({
          Execute: ({ payload }) =>
            Effect.gen(function* () {
              const job = payload.job
              if (job.storeId !== myStore) {
                return yield* new StageFailed({ node: job.node, redispatch: true, message: `runner ${address} serves another store (${myStore}, not ${job.storeId})` })
              }
              const lacking = unmet(job.requires, options.capabilities)
              if (lacking.length > 0) {
                return yield* new StageFailed({ node: job.node, redispatch: true, message: `runner ${address} lacks ${lacking.join(", ")}` })
              }
              return yield* slots.withPermits(1)(runJob(job)).pipe(Effect.mapError((message) => new StageFailed({ node: job.node, redispatch: false, message })))
            })
        })
      ),
      { concurrency: "unbounded" }
    )
    yield* Layer.launch(handlers.pipe(Layer.provide(runnerClusterLayer(options.host, options.port, options.listenHost)), Layer.provide(Layer.succeed(SqlClient.SqlClient, sql))))
  })

/** A runner with its Postgres connection (fails with ClusterUnreachable first). */
export const runnerProgram = (options: RunnerOptions) => Effect.scoped(runRunner(options)).pipe(Effect.provide(sqlLayer(options.url)))

/** For the CLI: the default address a runner announces. */
export const defaultRunnerHost = (): string => hostname()
