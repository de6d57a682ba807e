/**
 * The local executor: runs a plan's nodes in topological order, independent nodes
 * concurrently (up to the pipeline's concurrency), each either reused from the
 * content-addressed cache or executed and stored there.
 *
 * For each node: wait for its inputs; key = sha256(stage, version, code fingerprint,
 * config, input content hashes); if cache/<key> has a complete manifest whose files still match
 * their hashes, reuse it (a damaged entry is recomputed with a warning); otherwise
 * run the stage with its services (checkpoints, progress, ledger), write its outputs
 * into a temporary directory, hash them, write the manifest and rename the directory
 * into place. A failed node blocks only its dependents; independent branches finish,
 * so `resume` has less to do. Interruption (Ctrl-C) lets the running stages write
 * their checkpoints, marks the run interrupted and keeps everything resumable.
 */
import { Cause, Deferred, Effect, Exit, Schema, Semaphore } from "effect"
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises"
import { join, relative } from "node:path"
import type { LedgerEntry, Plan, PrivacyLabel } from "@dpipe/dsl"
import { Checkpoints, LedgerError, Pipeline, PrivacyLedger, Progress, stageKey } from "@dpipe/dsl"
import { readInput, writeOutput } from "./codecs/artifacts.ts"
import { hashFile } from "./codecs/hash.ts"
import { RunFailed, RunInterrupted, RunLocked, StoreError, diskFull, isDiskFull, messageOf } from "./errors.ts"
import { accountEvents, checkBudget, checkPreflight, ledgerSpend } from "./privacy.ts"
import { datasetsCrossed, planDatasets, planDelta, recordDatasetSpend, releaseReservations, reserveDatasetSpend, type PlanDataset } from "./dataset-budget.ts"
import { resumeCommandLine } from "./command-line.ts"
import { combineReporters, type Reporter, type RunEvent } from "./progress/events.ts"
import { logFileReporter } from "./progress/reporters.ts"
import { eventsFile, eventsFileReporter } from "./progress/events-file.ts"
import { makeRunState } from "./run-state.ts"
import { StageDispatcher, type StageDispatch } from "./stage-dispatcher.ts"
import { planFingerprints } from "./code/fingerprint.ts"
import { sourceHashes } from "./sources.ts"
import { fsyncDir, fsyncFile, tempPathFor, writeFileAtomic } from "./store/atomic.ts"
import { faultPoint } from "./store/faults.ts"
import { removeStaleTemps } from "./store/stale-temps.ts"
import { DIR_MODE, FILE_MODE, exposedEntries, exposedWarning, restrictUmask } from "./store/permissions.ts"
import { makeCheckpoints } from "./store/checkpoints.ts"
import type { StoreLayout } from "./store/layout.ts"
import { readLedger, writeLedger } from "./store/ledger-file.ts"
import { acquireLock, releaseLock } from "./store/lock.ts"
import type { Manifest, OutputRecord, RunRecord } from "./store/records.ts"
import { Manifest as ManifestSchema } from "./store/records.ts"
import { deriveStageSecret, loadOrCreateSecret } from "./store/secret.ts"

export interface ExecuteOptions {
  readonly store: StoreLayout
  readonly plan: Plan.Plan
  readonly runId: string
  /** The existing run record when resuming. */
  readonly previous?: RunRecord | undefined
  readonly reporter: Reporter
  /** Mid-stage checkpoints kept per stage (default 3). */
  readonly checkpointKeep?: number
}

export interface RunSummary {
  readonly record: RunRecord
  /** Nodes whose stage ran in this invocation. */
  readonly executed: ReadonlyArray<string>
  /** Nodes reused from the cache. */
  readonly cached: ReadonlyArray<string>
}

interface ResolvedOutput {
  readonly path: string
  readonly hash: string
  readonly label: PrivacyLabel
}
type NodeOutputs = Readonly<Record<string, ResolvedOutput>>

const versions: Record<string, string> = { node: process.versions.node, dpipe: "0.1.0" }

const tryStore = <A>(path: string, what: string, f: () => Promise<A>) =>
  Effect.tryPromise({ try: f, catch: (e) => new StoreError({ path, message: `${what}: ${messageOf(e)}` }) })

/** Of two ledger entries with one id, the one that spent more steps (never decrease). */
const keepLarger = (old: LedgerEntry, next: LedgerEntry): LedgerEntry => (old.steps > next.steps ? old : next)

/** Reads and verifies a cache entry; undefined when absent, a reason string when damaged. */
export const verifyCacheEntry = async (dir: string, key: string): Promise<Manifest | undefined | string> => {
  let text: string
  try {
    text = await readFile(join(dir, "manifest.json"), "utf8")
  } catch {
    return undefined
  }
  let manifest: Manifest
  try {
    manifest = Schema.decodeUnknownSync(ManifestSchema)(JSON.parse(text))
  } catch (e) {
    return `manifest.json is invalid (${messageOf(e)})`
  }
  if (manifest.key !== key) return `manifest.json is for key ${manifest.key}`
  for (const [name, out] of Object.entries(manifest.outputs)) {
    let actual: string
    try {
      actual = await hashFile(join(dir, out.file))
    } catch {
      return `output ${name} (${out.file}) is missing`
    }
    if (actual !== out.hash) return `output ${name} (${out.file}) does not match its recorded sha256 (truncated or altered)`
  }
  return manifest
}

/** Runs (or resumes) a plan. */
export const executeRun = Effect.fn("executeRun")(function* (options: ExecuteOptions) {
  const { store, plan, runId, reporter } = options
  // Refuse an infeasible or over-budget plan before touching the store.
  yield* checkPreflight(plan)
  yield* checkBudget(plan)
  // ... and one that would push a private dataset past its store-wide budget
  // (docs/privacy.md, D2), counting what earlier runs spent on it and what runs in
  // progress reserved; when it passes, this run's predicted spend is reserved until it ends.
  yield* reserveDatasetSpend(plan, store, runId)
  const datasets = yield* planDatasets(plan)
  // The code of every stage is fingerprinted before anything runs (once per process).
  const codes = yield* planFingerprints(plan)
  const runDir = store.runDir(runId)
  // An existing store that others can read (made by an older dpipe, or chmod-ed): warn.
  const exposedBefore = yield* tryStore(store.root, "checking the store's permissions", () => exposedEntries(store))
  if (exposedBefore.length > 0) reporter.emit({ type: "warning", message: exposedWarning(store, exposedBefore) })
  restrictUmask()
  yield* tryStore(runDir, "creating the run directory", () => mkdir(runDir, { recursive: true, mode: DIR_MODE }))
  const lock = yield* tryStore(store.lockFile(runId), "taking the run lock", () => acquireLock(store.lockFile(runId)))
  if (!lock.acquired) {
    return yield* new RunLocked({
      runId,
      message: `Run ${runId} is in use by process ${lock.holder.pid} on ${lock.holder.host} (since ${lock.holder.startedAt}). ` +
        `Wait for it to finish; if that process is gone, delete ${store.lockFile(runId)}.`
    })
  }
  if (lock.stale !== undefined) reporter.emit({ type: "warning", message: `took over the lock of run ${runId} from process ${lock.stale.pid}, which is no longer running` })
  const reporter2 = combineReporters(logFileReporter(store.logFile(runId)), eventsFileReporter(eventsFile(store, runId)), reporter)
  return yield* runLocked({ ...options, reporter: reporter2 }, codes, datasets).pipe(
    // A full disk anywhere (the run record, the ledger, a published file) is named as such.
    Effect.mapError((e) => (e._tag !== "DiskFull" && isDiskFull(e) ? diskFull(store.root, runId, e.message) : e)),
    Effect.ensuring(Effect.promise(() => releaseLock(store.lockFile(runId)))),
    Effect.ensuring(Effect.ignore(releaseReservations(store, runId)))
  )
})

const runLocked = (options: ExecuteOptions, codes: Readonly<Record<string, string>>, datasets: ReadonlyMap<string, PlanDataset>) =>
  Effect.gen(function* () {
    const { store, plan, runId, reporter } = options
    const graph = plan.pipeline
    // Half-written temporaries of killed processes (store/stale-temps.ts).
    const stale = yield* tryStore(store.root, "removing temporary files of killed processes", () => removeStaleTemps(store))
    if (stale.length > 0) {
      reporter.emit({ type: "warning", message: `removed ${stale.length} temporary file(s) left by killed processes: ${stale.map((p) => relative(store.root, p)).join(", ")}` })
    }
    const secret = yield* tryStore(store.secret, "reading the store secret", () => loadOrCreateSecret(store.secret))
    const now = new Date().toISOString()
    const previous = options.previous
    const initial: RunRecord = {
      format: "dpipe-run/1",
      runId,
      pipeline: graph.name,
      ...(graph.description !== "" ? { description: graph.description } : {}),
      ...(graph.privacy !== undefined ? { budget: { ...Pipeline.budgetAt(graph.privacy, plan.scale) } } : {}),
      scale: plan.scale,
      settings: { ...plan.settings },
      ...(plan.forced !== undefined && plan.forced.length > 0 ? { forced: [...plan.forced] } : {}),
      ...(plan.cacheOnly !== undefined && plan.cacheOnly.length > 0 ? { cacheOnly: [...plan.cacheOnly] } : {}),
      createdAt: previous?.createdAt ?? now,
      updatedAt: now,
      status: "running",
      nodes: Object.fromEntries(plan.nodes.map((n) => {
        const prev = previous?.nodes[n.id]
        const dependsOn = [...new Set(Object.values(n.inputs).map((ref) => ref.node))]
        return [n.id, { stage: n.stage.name, status: "pending" as const, dependsOn, ...(prev?.key !== undefined ? { key: prev.key } : {}) }]
      }))
    }
    // The privacy ledger: loaded (resume), updated by mechanism stages, written atomically.
    const ledgerPath = store.ledgerFile(runId)
    let ledger: Array<LedgerEntry> = yield* tryStore(ledgerPath, "reading the privacy ledger", () => readLedger(ledgerPath))
    const state = yield* makeRunState(store.runFile(runId), initial)
    reporter.emit({ type: "run-start", runId, pipeline: graph.name, scale: plan.scale, nodes: plan.nodes.map((n) => n.id), resumed: previous !== undefined })

    const ledgerLock = yield* Semaphore.make(1)
    const dispatcher = yield* StageDispatcher
    const upsertLedger = (entries: ReadonlyArray<LedgerEntry>) =>
      ledgerLock.withPermits(1)(
        Effect.gen(function* () {
          // Re-read: runners of a cluster write this file too (under the dispatcher's lock).
          const current = yield* Effect.tryPromise({ try: () => readLedger(ledgerPath), catch: (e) => new LedgerError({ message: `reading ${ledgerPath}: ${messageOf(e)}` }) })
          // Entries never decrease (docs/privacy.md, P8): a resume from an older
          // checkpoint (the newest was damaged) re-records fewer steps, but the
          // discarded steps were taken and their noise drawn.
          const next = mergeLedger(current, entries)
          yield* Effect.tryPromise({ try: () => writeLedger(ledgerPath, next), catch: (e) => new LedgerError({ message: `writing ${ledgerPath}: ${messageOf(e)}` }) })
          ledger = next
        }).pipe(dispatcher.ledgerLock(ledgerPath))
      )

    const deferreds = new Map(yield* Effect.forEach(plan.nodes, (n) => Effect.map(Deferred.make<NodeOutputs, string>(), (d) => [n.id, d] as const)))
    const slots = yield* Semaphore.make(Math.max(1, dispatcher.concurrency(graph.concurrency)))
    const executed: Array<string> = []
    const cached: Array<string> = []
    const inFlight = new Map<string, { readonly node: string; readonly result: Deferred.Deferred<Manifest, string> }>()

    const runNode = (node: Plan.PlannedNode) =>
      Effect.gen(function* () {
        // Inputs: wait for producers; a failed producer blocks this node.
        const inputs: Record<string, ResolvedOutput> = {}
        for (const [name, ref] of Object.entries(node.inputs)) {
          const exit = yield* Effect.exit(Deferred.await(deferreds.get(ref.node)!))
          if (Exit.isFailure(exit)) {
            const because = `input ${name} comes from ${ref.node}, which did not finish`
            yield* state.updateNode(node.id, (r) => ({ ...r, status: "blocked", error: because }))
            reporter.emit({ type: "stage-blocked", node: node.id, because })
            return yield* Effect.fail(because)
          }
          inputs[name] = exit.value[ref.output]!
        }
        const sources = yield* Effect.tryPromise({ try: () => sourceHashes(node.sources), catch: (e) => `hashing the sources of ${node.id}: ${messageOf(e)}` })
        const code = codes[node.id]!
        const key = stageKey({
          stage: node.stage.name,
          version: node.stage.version,
          code,
          config: node.configEncoded,
          inputs: { ...sources, ...Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, v.hash])), ...(plan.forced?.includes(node.id) === true ? { rerun: runId } : {}) }
        })
        const entryDir = store.cacheEntry(key)
        const resolve = (m: Manifest): NodeOutputs =>
          Object.fromEntries(Object.entries(m.outputs).map(([k, o]) => [k, { path: join(entryDir, o.file), hash: o.hash, label: node.outputLabels[k] ?? o.label }]))

        // Two nodes of one run with the same key (same stage, config and input
        // contents) share one execution.
        const twin = inFlight.get(key)
        if (twin !== undefined) {
          const shared = yield* Deferred.await(twin.result).pipe(Effect.mapError((e) => `the identical stage execution of ${twin.node} failed: ${e}`))
          yield* state.updateNode(node.id, (r) => ({ ...r, status: "cached", key, outputs: shared.outputs, finishedAt: new Date().toISOString() }))
          reporter.emit({ type: "stage-cached", node: node.id, key })
          cached.push(node.id)
          return resolve(shared)
        }
        const mine = { node: node.id, result: yield* Deferred.make<Manifest, string>() }
        inFlight.set(key, mine)
        return yield* runKeyed(node, key, entryDir, inputs, resolve).pipe(
          Effect.tapError((e) => Deferred.fail(mine.result, typeof e === "string" ? e : e.message)),
          Effect.tap((m) => Deferred.succeed(mine.result, m.manifest)),
          Effect.onInterrupt(() => Deferred.interrupt(mine.result)),
          Effect.map((m) => m.outputs)
        )
      })

    const runKeyed = (node: Plan.PlannedNode, key: string, entryDir: string, inputs: Record<string, ResolvedOutput>, resolve: (m: Manifest) => NodeOutputs) =>
      Effect.gen(function* () {

        // Cache.
        const found = yield* tryStore(entryDir, "reading the cache", () => verifyCacheEntry(entryDir, key))
        if (typeof found === "string") {
          reporter.emit({ type: "warning", node: node.id, message: `cache entry ${key.slice(0, 12)} is damaged: ${found}; recomputing` })
          yield* tryStore(entryDir, "removing a damaged cache entry", () => rm(entryDir, { recursive: true, force: true }))
        } else if (found !== undefined) {
          if (found.ledger.length > 0) {
            // A reused DP release still counts in this run's privacy statement, once.
            const mine = new Set(ledger.map((e) => e.id))
            const reused = found.ledger.filter((e) => !mine.has(e.id)).map((e) => ({ ...e, reused: e.stageKey !== key ? e.reused : found.runId !== runId }))
            if (reused.length > 0) yield* upsertLedger(reused)
          }
          yield* state.updateNode(node.id, (r) => ({ ...r, status: "cached", key, outputs: found.outputs, finishedAt: new Date().toISOString() }))
          reporter.emit({ type: "stage-cached", node: node.id, key })
          cached.push(node.id)
          return { manifest: found, outputs: resolve(found) }
        }

        // `run --only`: the stages it reuses are never executed (selection.ts).
        if (plan.cacheOnly?.includes(node.id) === true) {
          return yield* Effect.fail(`${node.id} is not in the cache, and --only reuses it without running it: compute it first with --until ${node.id}`)
        }

        // Execute: in this process, or on a runner of a cluster (stage-dispatcher.ts).
        return yield* slots.withPermits(1)(
          Effect.gen(function* () {
            const startedAt = new Date()
            // Telemetry describes one execution: a new one starts without the old figures.
            yield* state.updateNode(node.id, ({ telemetry: _, ...r }) => ({ ...r, status: "running", key, startedAt: startedAt.toISOString() }))
            reporter.emit({ type: "stage-start", node: node.id, stage: node.stage.name, key })
            const telemetry = (values: Readonly<Record<string, number | string>>) =>
              state.updateNode(node.id, (r) => ({ ...r, telemetry: { ...r.telemetry, ...values } })).pipe(Effect.ignore)
            const env: StageEnv = {
              store, plan, runId, node, key, entryDir, datasets, secret,
              code: codes[node.id]!,
              inputs,
              checkpointKeep: options.checkpointKeep ?? 3,
              emit: reporter.emit,
              telemetry,
              ledger: { entries: Effect.sync(() => ledger), upsert: upsertLedger }
            }
            const dispatch: StageDispatch = {
              runId, plan, node, key, code: env.code, inputs, checkpointKeep: env.checkpointKeep, local: executeStage(env), emit: reporter.emit, telemetry
            }
            const exit = yield* Effect.exit(dispatcher.dispatch(dispatch))
            if (Exit.isFailure(exit)) {
              if (Cause.hasInterruptsOnly(exit.cause)) {
                yield* state.updateNode(node.id, (r) => ({ ...r, status: "interrupted" }))
                return yield* Effect.interrupt
              }
              return yield* Effect.fail(messageOf(Cause.squash(exit.cause)))
            }
            const manifest = exit.value
            // A runner's ledger entries are in the ledger file: this process's view follows.
            ledger = yield* tryStore(ledgerPath, "reading the privacy ledger", () => readLedger(ledgerPath))
            yield* state.updateNode(node.id, (r) => ({ ...r, status: "done", key, outputs: manifest.outputs, finishedAt: manifest.finishedAt, durationMs: manifest.durationMs }))
            reporter.emit({ type: "stage-done", node: node.id, durationMs: manifest.durationMs })
            executed.push(node.id)
            return { manifest, outputs: resolve(manifest) }
          })
        )
      })

    const nodeFiber = (node: Plan.PlannedNode) =>
      runNode(node).pipe(
        Effect.mapError((e) => (typeof e === "string" ? e : e.message)),
        Effect.catch((message: string) =>
          Effect.gen(function* () {
            const rec = (yield* state.get).nodes[node.id]
            if (rec?.status !== "blocked") {
              yield* state.updateNode(node.id, (r) => ({ ...r, status: "failed", error: message })).pipe(Effect.ignore)
              reporter.emit({ type: "stage-failed", node: node.id, error: message })
            }
            return yield* Effect.fail(message)
          })
        ),
        Effect.exit,
        Effect.flatMap((exit) => Deferred.done(deferreds.get(node.id)!, exit))
      )

    const finish = (status: RunRecord["status"]) =>
      Effect.gen(function* () {
        const spend = yield* ledgerSpend(graph, plan.scale, ledger).pipe(Effect.orElseSucceed(() => undefined))
        const record = yield* state.update((r) => ({
          ...r,
          // A stage cut off by the interrupt may not have recorded it itself.
          nodes: status === "succeeded" ? r.nodes : Object.fromEntries(Object.entries(r.nodes).map(([k, n]) => [k, n.status === "running" ? { ...n, status: "interrupted" as const } : n])),
          status,
          ...(spend !== undefined ? { privacy: { delta: spend.delta, budgetEpsilon: spend.budgetEpsilon, epsilon: { ...spend.epsilon } } } : {})
        }))
        reporter.emit({ type: "run-end", runId, status, executed: executed.length, cached: cached.length, ...(spend !== undefined ? { epsilon: spend.epsilon } : {}) })
        return record
      })

    const all = yield* Effect.exit(
      Effect.forEach(plan.nodes, nodeFiber, { concurrency: "unbounded", discard: true }).pipe(
        Effect.onInterrupt(() =>
          finish("interrupted").pipe(
            Effect.ignore,
            Effect.andThen(Effect.sync(() => {
              reporter.emit({ type: "warning", message: `run ${runId} interrupted; running stages saved their checkpoints. Continue with: ${resumeCommandLine(store, runId)}` })
              process.exitCode = 130
            }))
          )
        )
      )
    )
    if (Exit.isFailure(all)) {
      yield* finish("failed").pipe(Effect.ignore)
      return yield* new RunInterrupted({
        runId,
        message: `Run ${runId} stopped unexpectedly (${Cause.pretty(all.cause).split("\n")[0]}). Continue with: ${resumeCommandLine(store, runId)}`
      })
    }
    const record = yield* state.get
    const failed = plan.nodes.filter((n) => record.nodes[n.id]?.status === "failed")
    if (failed.length > 0) {
      const full = failed.filter((n) => isDiskFull(record.nodes[n.id]?.error ?? ""))
      if (full.length > 0) {
        // On a full disk the final run record may not be writable: the last one stands.
        yield* Effect.ignore(finish("failed"))
        return yield* diskFull(store.root, runId, `${full.map((n) => `stage ${n.id}`).join(", ")} failed (${full.map((n) => record.nodes[n.id]?.error ?? "?").join("; ")})`)
      }
      yield* finish("failed")
      const reasons = failed.map((n) => `${n.id}: ${record.nodes[n.id]?.error ?? "?"}`).join("; ")
      return yield* new RunFailed({
        runId,
        message: `Run ${runId} failed at ${failed.map((n) => `stage ${n.id}`).join(", ")} (${reasons}). ` +
          `Fix the cause, then run \`${resumeCommandLine(store, runId)}\` (when the cause is a setting, add --set node.field=VALUE to it): ` +
          `finished stages are reused and only the failed ones, what their new settings change, and what depends on them run.`
      })
    }
    // Publish chosen outputs into the run directory (report.html, ...).
    for (const [file, ref] of Object.entries(graph.publish ?? {})) {
      const out = record.nodes[ref.node]?.outputs?.[ref.output]
      const key = record.nodes[ref.node]?.key
      if (out === undefined || key === undefined) continue
      const target = join(store.runDir(runId), file)
      yield* tryStore(target, `publishing ${file}`, async () => writeFileAtomic(target, await readFile(join(store.cacheEntry(key), out.file))))
    }
    const final = yield* finish("succeeded")
    const summary: RunSummary = { record: final, executed, cached }
    return summary
  })


/** Everything one execution of a stage needs; a cluster runner builds it from a job. */
export interface StageEnv {
  readonly store: StoreLayout
  readonly plan: Plan.Plan
  readonly runId: string
  readonly node: Plan.PlannedNode
  readonly key: string
  readonly code: string
  readonly entryDir: string
  readonly inputs: Readonly<Record<string, { readonly path: string; readonly hash: string }>>
  readonly datasets: ReadonlyMap<string, PlanDataset>
  readonly secret: Uint8Array
  readonly checkpointKeep: number
  readonly emit: (event: RunEvent) => void
  readonly telemetry: (values: Readonly<Record<string, number | string>>) => Effect.Effect<void>
  /** The run's privacy ledger: its current entries and an upsert (entries never decrease). */
  readonly ledger: {
    readonly entries: Effect.Effect<ReadonlyArray<LedgerEntry>, LedgerError>
    readonly upsert: (entries: ReadonlyArray<LedgerEntry>) => Effect.Effect<void, LedgerError>
  }
}

/** Merges entries into a ledger by id; of two entries with one id the larger stays (docs/privacy.md, P8). */
export const mergeLedger = (ledger: ReadonlyArray<LedgerEntry>, entries: ReadonlyArray<LedgerEntry>): Array<LedgerEntry> => {
  const next = [...ledger]
  for (const e of entries) {
    const i = next.findIndex((x) => x.id === e.id)
    if (i >= 0) next[i] = keepLarger(next[i]!, e)
    else next.push(e)
  }
  return next
}

/**
 * Executes one stage with its services (checkpoints, progress, privacy ledger), writes
 * its outputs into a temporary directory, hashes them, writes the manifest and renames
 * the directory into the cache. Fails with a message; interruption propagates (the
 * stage has written its checkpoint).
 */
export const executeStage = (env: StageEnv): Effect.Effect<Manifest, string> =>
  Effect.gen(function* () {
    const { store, plan, runId, node, key, entryDir, inputs, secret } = env
    const graph = plan.pipeline
    const startedAt = new Date()
    const inputValues: Record<string, unknown> = {}
    for (const [name, inp] of Object.entries(inputs)) {
      const spec = node.stage.inputs[name]!
      inputValues[name] = yield* Effect.tryPromise({ try: () => readInput(inp.path, spec), catch: (e) => `reading input ${name} (${inp.path}): ${messageOf(e)}` })
    }
    const warn = (message: string) => env.emit({ type: "warning", node: node.id, message })
    const checkpoints = makeCheckpoints({ dir: store.checkpointsDir(runId, node.id), stageKey: key, keep: env.checkpointKeep, warn })
    const recorded: Array<LedgerEntry> = []
    const ledgerService: PrivacyLedger["Service"] = {
      record: (entry) =>
        Effect.gen(function* () {
          if (!node.isMechanism) {
            return yield* new LedgerError({ message: `stage ${node.stage.name} is not declared as a DP mechanism and may not record privacy spend` })
          }
          const full: LedgerEntry = { id: entry.id, node: node.id, stageKey: key, event: entry.event, steps: entry.steps, reused: false, recordedAt: new Date().toISOString() }
          yield* env.ledger.upsert([full])
          const kept = (yield* env.ledger.entries).find((x) => x.id === full.id) ?? full
          // ... and in the store's ledger, against every private dataset it spends on (D1).
          const delta = planDelta(plan)
          const spendsOn = node.spendsOn.flatMap((o) => env.datasets.get(o) ?? [])
          if (delta !== undefined && spendsOn.length > 0) {
            yield* recordDatasetSpend(store, spendsOn, runId, delta, kept).pipe(Effect.mapError((e) => new LedgerError({ message: e.message })))
          }
          const i = recorded.findIndex((x) => x.id === full.id)
          if (i >= 0) recorded[i] = kept
          else recorded.push(kept)
        }),
      check: (entry) =>
        Effect.gen(function* () {
          const events = [...(yield* env.ledger.entries).filter((e) => e.id !== entry.id).map((e) => e.event), entry.event]
          const spend = yield* accountEvents(graph, plan.scale, events).pipe(Effect.mapError((e) => new LedgerError({ message: e.message })))
          if (spend === undefined) return { epsilon: Number.NaN, budgetEpsilon: undefined, delta: undefined, withinBudget: true }
          // The datasets' store-wide budgets bind too (docs/privacy.md, D2).
          const spendsOn = node.spendsOn.flatMap((o) => env.datasets.get(o) ?? [])
          const crossed = graph.privacy === undefined || spendsOn.length === 0
            ? []
            : yield* datasetsCrossed(store, graph.privacy.accountants, spendsOn, runId, key, entry.id, entry.event).pipe(Effect.mapError((e) => new LedgerError({ message: e.message })))
          return { epsilon: spend.primary, accountant: graph.privacy?.accountants[0].name, budgetEpsilon: spend.budgetEpsilon, delta: spend.delta, withinBudget: spend.primary <= spend.budgetEpsilon * (1 + 1e-9) && crossed.length === 0 }
        })
    }
    const progress: Progress["Service"] = {
      update: (step, total, metrics) => Effect.sync(() => env.emit({ type: "stage-progress", node: node.id, step, total, metrics: metrics ?? {} })),
      info: (message) => Effect.sync(() => env.emit({ type: "stage-info", node: node.id, message })),
      telemetry: (values) =>
        Effect.sync(() => env.emit({ type: "stage-telemetry", node: node.id, values })).pipe(Effect.andThen(env.telemetry(values)))
    }
    const ctx = {
      config: node.config,
      perf: node.perf,
      inputs: inputValues,
      node: node.id,
      stageKey: key,
      secretKey: (domain: string) => deriveStageSecret(secret, key, domain)
    }
    const run = node.stage.run(ctx as never).pipe(
      Effect.provideService(Checkpoints, checkpoints),
      Effect.provideService(Progress, progress),
      Effect.provideService(PrivacyLedger, ledgerService)
    )
    const exit = yield* Effect.exit(run)
    if (Exit.isFailure(exit)) {
      if (Cause.hasInterruptsOnly(exit.cause)) return yield* Effect.interrupt
      const err = Cause.squash(exit.cause)
      const message = messageOf(err)
      return yield* Effect.fail(`stage ${node.stage.name} failed: ${message}`)
    }
    const values = exit.value as Record<string, unknown>
    // Outputs into a temporary directory, then renamed into place.
    const tmp = tempPathFor(entryDir)
    const outputs = yield* Effect.tryPromise({
      try: async () => {
        await mkdir(tmp, { recursive: true, mode: DIR_MODE })
        const outs: Record<string, OutputRecord> = {}
        for (const [name, spec] of Object.entries(node.stage.outputs)) {
          if (!(name in values)) throw new Error(`stage returned no value for output "${name}"`)
          const w = await writeOutput(tmp, name, spec, values[name])
          await fsyncFile(join(tmp, w.file))
          outs[name] = { ...w, label: node.outputLabels[name] ?? "private" }
        }
        return outs
      },
      catch: (e) => `writing outputs of ${node.id}: ${messageOf(e)}`
    }).pipe(Effect.tapError(() => Effect.promise(() => rm(tmp, { recursive: true, force: true }))))
    const finishedAt = new Date()
    const manifest: Manifest = {
      format: "dpipe-manifest/1",
      key,
      stage: node.stage.name,
      version: node.stage.version,
      code: env.code,
      node: node.id,
      config: node.configEncoded,
      perf: node.perfEncoded,
      inputs: Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, v.hash])),
      outputs,
      ledger: recorded,
      startedAt: startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
      durationMs: finishedAt.getTime() - startedAt.getTime(),
      versions,
      runId
    }
    yield* tryStore(entryDir, "storing outputs in the cache", async () => {
      try {
        faultPoint("manifest", join(tmp, "manifest.json"))
        await writeFile(join(tmp, "manifest.json"), JSON.stringify(manifest, null, 2) + "\n", { mode: FILE_MODE })
        await fsyncFile(join(tmp, "manifest.json"))
        await fsyncDir(tmp)
        await mkdir(store.cacheDir, { recursive: true, mode: DIR_MODE })
        faultPoint("rename", entryDir)
        await rename(tmp, entryDir)
      } catch (e) {
        // Another process stored the same key meanwhile: keep theirs. Any other
        // failure (a full disk) leaves no half-written entry behind.
        await rm(tmp, { recursive: true, force: true })
        const code = (e as NodeJS.ErrnoException).code
        if (code !== "ENOTEMPTY" && code !== "EEXIST") throw e
      }
      await fsyncDir(store.cacheDir)
    }).pipe(Effect.mapError((e) => e.message))
    return manifest
  })
