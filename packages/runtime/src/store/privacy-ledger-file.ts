/**
 * The store's privacy ledger, <store>/privacy-ledger.json (docs/privacy.md, D1-D3): every
 * DP event any run of this store spent, recorded against each private dataset it
 * touched (by the dataset's source hash), the datasets' names, and the budgets the user
 * declared per dataset. One file per store, Schema-encoded JSON, rewritten atomically
 * (atomic.ts) under a lock file that serializes concurrent runs and `budget set`: an
 * update reads, changes and writes the whole ledger while it holds the lock.
 *
 * Entries are keyed by (dataset, stage key, entry id). A stage key fixes the noise and
 * the batches (they are keyed by the store secret and the stage key: P7), so the same
 * key recomputed (a resume, a deleted cache entry) is the same release and is upserted,
 * never counted twice; like the run ledger, an entry never decreases (P8).
 */
import { Effect, Schema } from "effect"
import { mkdir, readFile } from "node:fs/promises"
import { StoreError, messageOf } from "../errors.ts"
import { writeFileAtomic } from "./atomic.ts"
import type { StoreLayout } from "./layout.ts"
import { acquireLock, releaseLock } from "./lock.ts"
import { DIR_MODE } from "./permissions.ts"

export const StoreLedgerEntry = Schema.Struct({
  /** The dataset's source hash. */
  dataset: Schema.String,
  runId: Schema.String,
  node: Schema.String,
  stageKey: Schema.String,
  /** The mechanism's ledger entry id (stable across resume). */
  id: Schema.String,
  /** The DP event, in the accountants' JSON encoding. */
  event: Schema.Unknown,
  steps: Schema.Number,
  /** The delta of the run's pipeline budget when it was recorded (for display). */
  delta: Schema.Number,
  recordedAt: Schema.String,
  /**
   * A reservation: the spend a running mechanism predicts, recorded when its run starts
   * (under the lock, with the budget check) and removed when the run ends, so that runs
   * started at once cannot together cross a budget each would fit alone (D2).
   */
  reserved: Schema.optional(Schema.Boolean)
})
export type StoreLedgerEntry = typeof StoreLedgerEntry.Type

export const DatasetRecord = Schema.Struct({
  /** The user's name for the dataset (the source stage's declaration). */
  name: Schema.String,
  /** The stage that reads it. */
  stage: Schema.String,
  firstSeen: Schema.String
})
export type DatasetRecord = typeof DatasetRecord.Type

export const DatasetBudget = Schema.Struct({
  epsilon: Schema.Finite.check(Schema.isGreaterThan(0)),
  delta: Schema.Finite.check(Schema.isGreaterThan(0), Schema.isLessThan(1))
})
export type DatasetBudget = typeof DatasetBudget.Type

export const StoreLedger = Schema.Struct({
  format: Schema.Literal("dpipe-privacy-ledger/1"),
  /** Source hash -> dataset. */
  datasets: Schema.Record(Schema.String, DatasetRecord),
  /** Dataset name or source hash -> its budget. */
  budgets: Schema.Record(Schema.String, DatasetBudget),
  entries: Schema.Array(StoreLedgerEntry)
})
export type StoreLedger = typeof StoreLedger.Type

export const emptyStoreLedger: StoreLedger = { format: "dpipe-privacy-ledger/1", datasets: {}, budgets: {}, entries: [] }

const fail = (path: string, message: string) => new StoreError({ path, message })

/** Reads the store ledger (an empty one when the store has none yet). */
export const readStoreLedger = (store: StoreLayout) =>
  Effect.tryPromise({
    try: async (): Promise<StoreLedger> => {
      let text: string
      try {
        text = await readFile(store.privacyLedger, "utf8")
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ENOENT") return emptyStoreLedger
        throw e
      }
      return Schema.decodeUnknownSync(StoreLedger)(JSON.parse(text))
    },
    catch: (e) =>
      fail(store.privacyLedger, `the store's privacy ledger ${store.privacyLedger} cannot be read (${messageOf(e)}); it must not be discarded (it is what every run has spent on each dataset): restore it from a backup`)
  })

// Updates within this process are serialized here; across processes by the lock file.
let chain: Promise<unknown> = Promise.resolve()

const LOCK_WAIT_MS = 60_000

const withLock = async <A>(store: StoreLayout, f: () => Promise<A>): Promise<A> => {
  await mkdir(store.root, { recursive: true, mode: DIR_MODE })
  const started = Date.now()
  for (;;) {
    const lock = await acquireLock(store.privacyLedgerLock)
    if (lock.acquired) break
    if (Date.now() - started > LOCK_WAIT_MS) {
      throw new Error(`the store's privacy ledger is locked by process ${lock.holder.pid} on ${lock.holder.host} since ${lock.holder.startedAt}; if that process is gone, delete ${store.privacyLedgerLock}`)
    }
    await new Promise((r) => setTimeout(r, 20 + Math.random() * 30))
  }
  try {
    return await f()
  } finally {
    await releaseLock(store.privacyLedgerLock)
  }
}

/** Reads, changes and writes the store ledger atomically under its lock; returns the new ledger. */
export const updateStoreLedger = (store: StoreLayout, change: (ledger: StoreLedger) => StoreLedger) =>
  decideStoreLedger(store, (l) => Effect.succeed({ next: change(l), result: undefined })).pipe(Effect.flatMap(() => readStoreLedger(store)))

/**
 * Under the lock: reads the ledger, lets `decide` compute a result and, if it returns
 * one, the next ledger, which is written atomically before the lock is released. A
 * check and the write it leads to are one step for every other process.
 */
export const decideStoreLedger = <A>(store: StoreLayout, decide: (ledger: StoreLedger) => Effect.Effect<{ readonly next: StoreLedger | undefined; readonly result: A }>) =>
  Effect.tryPromise({
    try: () => {
      const next = chain.then(() =>
        withLock(store, async () => {
          const current = await Effect.runPromise(readStoreLedger(store))
          const decided = await Effect.runPromise(decide(current))
          if (decided.next !== undefined) {
            await writeFileAtomic(store.privacyLedger, JSON.stringify(Schema.encodeSync(StoreLedger)(decided.next), null, 2) + "\n")
          }
          return decided.result
        })
      )
      chain = next.catch(() => undefined)
      return next
    },
    catch: (e) => fail(store.privacyLedger, `updating the store's privacy ledger: ${messageOf(e)}`)
  })

/** Upserts entries by (dataset, stage key, id), keeping the larger step count (P8). */
export const upsertStoreEntries = (ledger: StoreLedger, entries: ReadonlyArray<StoreLedgerEntry>): StoreLedger => {
  const next = [...ledger.entries]
  for (const e of entries) {
    const i = next.findIndex((x) => x.dataset === e.dataset && x.stageKey === e.stageKey && x.id === e.id)
    if (i < 0) next.push(e)
    else if (e.steps >= next[i]!.steps) next[i] = e
  }
  return { ...ledger, entries: next }
}
