/**
 * Housekeeping of the run store: `pipeline gc` and `pipeline rm`.
 *
 * - gc: the cache entries that no run record references (a run removed with `rm`, a
 *   setting tried once), cache entries without a complete manifest, and temporaries of
 *   killed processes (stale-temps.ts). Entries made by `pipeline carry` are kept until a
 *   run uses them or they are removed by hand. A dry run (the default) only measures.
 *   While a run of the store is in progress nothing is deleted: its entries may not be
 *   recorded yet.
 * - rm: a run's directory (its record, logs, checkpoints, run ledger and published
 *   files), refused while the run is in progress. The store's privacy ledger is never
 *   changed: privacy a run spent stays spent whatever happens to its files (docs/privacy.md).
 *
 * A cache entry deleted here that a later run needs is simply recomputed: the same stage
 * key gives the same noise and batches, so a DP stage's release is the same release and
 * the store ledger does not count it twice.
 */
import { Effect, Schema } from "effect"
import { lstat, readdir, readFile, rm } from "node:fs/promises"
import { join } from "node:path"
import { RunLocked, StoreError, messageOf } from "../errors.ts"
import type { StoreLayout } from "./layout.ts"
import { lockHeld } from "./lock.ts"
import { readStoreLedger } from "./privacy-ledger-file.ts"
import { Manifest, RunRecord } from "./records.ts"
import { removeStaleTemps } from "./stale-temps.ts"

const list = async (dir: string): Promise<Array<string>> => {
  try {
    return await readdir(dir)
  } catch {
    return []
  }
}

/** Bytes under a path (files and directories, links not followed). */
export const sizeOf = async (path: string): Promise<number> => {
  let st
  try {
    st = await lstat(path)
  } catch {
    return 0
  }
  if (!st.isDirectory()) return st.size
  let total = 0
  for (const name of await list(path)) total += await sizeOf(join(path, name))
  return total
}

export const formatBytes = (n: number): string =>
  n < 1024 ? `${n} B` : n < 1024 ** 2 ? `${(n / 1024).toFixed(1)} KiB` : n < 1024 ** 3 ? `${(n / 1024 ** 2).toFixed(1)} MiB` : `${(n / 1024 ** 3).toFixed(2)} GiB`

export interface GcItem {
  readonly path: string
  readonly bytes: number
  readonly kind: "cache-entry" | "incomplete-entry" | "temporary"
  /** The stage of a cache entry, when its manifest says. */
  readonly stage?: string | undefined
}

export interface GcReport {
  readonly items: ReadonlyArray<GcItem>
  readonly bytes: number
  /** Cache entries kept because a run references them. */
  readonly kept: number
  /** Entries made by `pipeline carry` that no run uses yet (kept). */
  readonly carried: ReadonlyArray<string>
  readonly deleted: boolean
}

const runIds = (store: StoreLayout) => Effect.promise(() => list(store.runsDir))

/** The runs of the store whose process is alive. */
export const liveRuns = (store: StoreLayout) =>
  Effect.gen(function* () {
    const live: Array<string> = []
    for (const id of yield* runIds(store)) if (yield* Effect.promise(() => lockHeld(store.lockFile(id)))) live.push(id)
    return live
  })

/** Every stage key some run record references; an unreadable record stops gc (it might reference anything). */
const referencedKeys = (store: StoreLayout) =>
  Effect.gen(function* () {
    const keys = new Set<string>()
    for (const id of yield* runIds(store)) {
      const path = store.runFile(id)
      const text = yield* Effect.promise(() => readFile(path, "utf8").catch(() => undefined))
      if (text === undefined) continue // a run directory without a record references nothing
      const record = yield* Effect.try({
        try: () => Schema.decodeUnknownSync(RunRecord)(JSON.parse(text)),
        catch: (e) => new StoreError({ path, message: `cannot read ${path} (${messageOf(e)}): gc cannot tell which cache entries run ${id} uses. Repair the file or remove the run with \`pipeline rm ${id}\`, then gc again.` })
      })
      for (const n of Object.values(record.nodes)) if (n.key !== undefined) keys.add(n.key)
    }
    return keys
  })

const TEMP = /^\.tmp-/

/** What gc removes (and, with `remove`, removes it). */
export const collectGarbage = (store: StoreLayout, remove: boolean) =>
  Effect.gen(function* () {
    const live = yield* liveRuns(store)
    if (remove && live.length > 0) {
      return yield* new RunLocked({
        runId: live[0]!,
        message: `Run${live.length > 1 ? "s" : ""} ${live.join(", ")} ${live.length > 1 ? "are" : "is"} in progress: gc deletes nothing while a run may still record cache entries. Run it again when ${live.length > 1 ? "they end" : "it ends"} (the dry run, without --yes, works now).`
      })
    }
    const referenced = yield* referencedKeys(store)
    const items: Array<GcItem> = []
    const carried: Array<string> = []
    let kept = 0
    for (const name of yield* Effect.promise(() => list(store.cacheDir))) {
      if (TEMP.test(name)) continue // temporaries: below, only those of dead writers
      if (referenced.has(name)) {
        kept++
        continue
      }
      const dir = store.cacheEntry(name)
      const manifest = yield* Effect.promise(() =>
        readFile(join(dir, "manifest.json"), "utf8").then((t) => Schema.decodeUnknownSync(Manifest)(JSON.parse(t))).catch(() => undefined)
      )
      if (manifest?.carriedFrom !== undefined) {
        carried.push(name)
        continue
      }
      items.push({ path: dir, bytes: yield* Effect.promise(() => sizeOf(dir)), kind: manifest === undefined ? "incomplete-entry" : "cache-entry", stage: manifest?.stage })
    }
    const temps = yield* Effect.tryPromise({ try: () => removeStaleTemps(store, false), catch: (e) => new StoreError({ path: store.root, message: `listing temporary files: ${messageOf(e)}` }) })
    for (const t of temps) items.push({ path: t, bytes: yield* Effect.promise(() => sizeOf(t)), kind: "temporary" })
    if (remove) {
      for (const item of items) {
        yield* Effect.tryPromise({ try: () => rm(item.path, { recursive: true, force: true }), catch: (e) => new StoreError({ path: item.path, message: `removing ${item.path}: ${messageOf(e)}` }) })
      }
    }
    const report: GcReport = { items, bytes: items.reduce((a, i) => a + i.bytes, 0), kept, carried, deleted: remove }
    return report
  })

export interface RemovedRun {
  readonly runId: string
  readonly bytes: number
  /** Store privacy-ledger entries this run spent (kept). */
  readonly ledgerEntries: number
  readonly datasets: ReadonlyArray<string>
}

/** Removes a run's directory; refuses while it runs. The store's privacy ledger is left as it is. */
export const removeRun = (store: StoreLayout, runId: string, remove: boolean) =>
  Effect.gen(function* () {
    const dir = store.runDir(runId)
    const exists = yield* Effect.promise(() => lstat(dir).then(() => true, () => false))
    if (!exists) {
      const ids = yield* runIds(store)
      return yield* new StoreError({ path: dir, message: `No run ${runId} in ${store.root}. Its runs: ${ids.join(", ") || "none"}.` })
    }
    if (yield* Effect.promise(() => lockHeld(store.lockFile(runId)))) {
      return yield* new RunLocked({ runId, message: `Run ${runId} is in progress: stop it first (Ctrl-C in its terminal), then remove it.` })
    }
    const ledger = yield* readStoreLedger(store)
    const spent = ledger.entries.filter((e) => e.runId === runId && e.reserved !== true)
    const datasets = [...new Set(spent.map((e) => ledger.datasets[e.dataset]?.name ?? e.dataset.slice(0, 12)))]
    const bytes = yield* Effect.promise(() => sizeOf(dir))
    if (remove) yield* Effect.tryPromise({ try: () => rm(dir, { recursive: true, force: true }), catch: (e) => new StoreError({ path: dir, message: `removing ${dir}: ${messageOf(e)}` }) })
    const removed: RemovedRun = { runId, bytes, ledgerEntries: spent.length, datasets }
    return removed
  })
