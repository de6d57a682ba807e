/**
 * What the dashboard reads from the run store, read-only: the runs (run.json, with a
 * run whose process is gone shown as interrupted), a run's ledger, its privacy
 * statement and published files, and an artifact's schema, rows and tensor
 * statistics. Private rows and values are returned only when the caller asks for them
 * explicitly (the rule of `pipeline inspect --private`).
 */
import * as arrow from "apache-arrow"
import { Effect, Option } from "effect"
import { readdir, readFile, stat } from "node:fs/promises"
import { join } from "node:path"
import { parquetInfo } from "../codecs/parquet-table.ts"
import { firstRows } from "../codecs/table-preview.ts"
import { decodeTensors } from "../codecs/tensors.ts"
import { messageOf } from "../errors.ts"
import { readRunRecord } from "../run-state.ts"
import type { StoreLayout } from "../store/layout.ts"
import { readLedger } from "../store/ledger-file.ts"
import { withLiveStatus } from "../store/live-status.ts"
import type { NodeStatus, RunRecord } from "../store/records.ts"
import type { ArtifactView, RunDetail, RunListItem } from "./api-schemas.ts"
import { UiNotFound, UiPrivateContent, UiStoreUnreadable } from "./errors.ts"
import { StoreBudget } from "./store-budget.ts"

const unreadable = (path: string) => (e: unknown) => new UiStoreUnreadable({ path, message: `cannot read ${path}: ${messageOf(e)}` })

/** A run id is one path segment of runs/: no separators, no dot names. */
const validRunId = (id: string): boolean => /^[A-Za-z0-9._-]+$/.test(id) && id !== "." && id !== ".."

/** The run record, live status applied; UiNotFound for an unknown id. */
export const readRun = Effect.fn("ui.readRun")(function* (store: StoreLayout, runId: string) {
  if (!validRunId(runId)) return yield* new UiNotFound({ message: `"${runId}" is not a run id` })
  const record = yield* readRunRecord(store.runFile(runId), runId).pipe(
    Effect.mapError((e) => (e._tag === "RunNotFound" ? new UiNotFound({ message: e.message }) : new UiStoreUnreadable({ path: e.path, message: e.message })))
  )
  return yield* Effect.promise(() => withLiveStatus(store, record))
})

const listItem = (r: RunRecord, now: number): RunListItem => {
  const byStatus: Record<NodeStatus, number> = { pending: 0, running: 0, done: 0, cached: 0, failed: 0, blocked: 0, interrupted: 0 }
  for (const n of Object.values(r.nodes)) byStatus[n.status] += 1
  const end = r.status === "running" ? now : Date.parse(r.updatedAt)
  return {
    runId: r.runId,
    pipeline: r.pipeline,
    ...(r.description !== undefined ? { description: r.description } : {}),
    scale: r.scale,
    status: r.status,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
    durationMs: Math.max(0, end - Date.parse(r.createdAt)),
    stages: { total: Object.keys(r.nodes).length, byStatus },
    ...(r.privacy !== undefined ? { privacy: r.privacy } : {})
  }
}

/** Every run in the store, newest first. Unreadable run directories are skipped. */
export const listRuns = Effect.fn("ui.listRuns")(function* (store: StoreLayout) {
  const ids = yield* Effect.promise(() => readdir(store.runsDir).catch((): Array<string> => []))
  const items: Array<RunListItem> = []
  const now = Date.now()
  for (const id of ids) {
    const r = yield* Effect.option(readRun(store, id))
    if (Option.isSome(r)) items.push(listItem(r.value, now))
  }
  return items.sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0))
})

const readJson = (path: string) => Effect.tryPromise({ try: async (): Promise<unknown> => JSON.parse(await readFile(path, "utf8")), catch: unreadable(path) })

/** Files the run published into its directory (report.html), with the label of the output they copy. */
const publishedFiles = async (store: StoreLayout, record: RunRecord): Promise<Array<{ file: string; label: string }>> => {
  const names = await readdir(store.runDir(record.runId)).catch((): Array<string> => [])
  const known = new Set(["run.json", "ledger.parquet", "lock", "logs", "stages"])
  const outputs = Object.values(record.nodes).flatMap((n) => Object.values(n.outputs ?? {}))
  const out: Array<{ file: string; label: string }> = []
  for (const name of names.sort()) {
    if (known.has(name) || name.startsWith(".")) continue
    const s = await stat(join(store.runDir(record.runId), name)).catch(() => undefined)
    if (s === undefined || !s.isFile()) continue
    // The label of the output copied under this name; unknown files are treated as private.
    out.push({ file: name, label: outputs.find((o) => o.file === name)?.label ?? "private" })
  }
  return out
}

/** The run page's data: record, ledger, statement, published files, store budget. */
export const runDetail = Effect.fn("ui.runDetail")(function* (store: StoreLayout, runId: string) {
  const run = yield* readRun(store, runId)
  const ledgerPath = store.ledgerFile(runId)
  const ledger = yield* Effect.tryPromise({ try: () => readLedger(ledgerPath), catch: unreadable(ledgerPath) })
  let statement: RunDetail["statement"]
  for (const [node, n] of Object.entries(run.nodes)) {
    const o = n.outputs?.["statement"]
    if (o === undefined || o.kind !== "json" || o.label === "private" || n.key === undefined) continue
    const value = yield* readJson(join(store.cacheEntry(n.key), o.file))
    statement = { node, output: "statement", label: o.label, value }
  }
  const published = yield* Effect.promise(() => publishedFiles(store, run))
  const budget = yield* (yield* StoreBudget).forRun(store, runId)
  const detail: RunDetail = {
    run,
    ledger: ledger.map((e) => ({ id: e.id, node: e.node, steps: e.steps, reused: e.reused, recordedAt: e.recordedAt, event: e.event })),
    ...(statement !== undefined ? { statement } : {}),
    published,
    ...(Option.isSome(budget) ? { storeBudget: budget.value } : {})
  }
  return detail
})

/** A published file's bytes; private ones only with the reveal. */
export const publishedFile = Effect.fn("ui.publishedFile")(function* (store: StoreLayout, runId: string, file: string, reveal: boolean) {
  const run = yield* readRun(store, runId)
  const entry = (yield* Effect.promise(() => publishedFiles(store, run))).find((p) => p.file === file)
  if (entry === undefined) return yield* new UiNotFound({ message: `run ${runId} has no published file "${file}"` })
  if (entry.label === "private" && !reveal) {
    return yield* new UiPrivateContent({ message: `${file} of run ${runId} is labelled private; open it with the reveal (?private=1)` })
  }
  const path = join(store.runDir(runId), file)
  return yield* Effect.tryPromise({ try: () => readFile(path), catch: unreadable(path) })
})

/** Table cells as JSON values: numbers for bigints, arrays cut to 16, strings to 200 chars. */
const cell = (v: unknown): unknown => {
  if (v instanceof arrow.Vector) {
    const a = v.toArray() as ArrayLike<number | bigint>
    const head = Array.from({ length: Math.min(a.length, 16) }, (_, i) => cell(a[i]))
    return a.length > 16 ? [...head, `... (${a.length})`] : head
  }
  if (typeof v === "bigint") return Number(v)
  if (typeof v === "string" && v.length > 200) return `${v.slice(0, 200)}... (${v.length} chars)`
  if (typeof v === "number" && !Number.isFinite(v)) return String(v)
  return v
}

const summarize = (data: Float32Array | Int32Array) => {
  let min = Number.POSITIVE_INFINITY
  let max = Number.NEGATIVE_INFINITY
  let sum = 0
  let sq = 0
  for (const x of data) {
    if (x < min) min = x
    if (x > max) max = x
    sum += x
    sq += x * x
  }
  const n = data.length
  const mean = n > 0 ? sum / n : 0
  return { min: n > 0 ? min : 0, max: n > 0 ? max : 0, mean, std: n > 0 ? Math.sqrt(Math.max(0, sq / n - mean * mean)) : 0 }
}

/**
 * An artifact: schema and row count of a table (first rows unless private without
 * `reveal`), tensors as shapes and summary statistics, a JSON value (unless private
 * without `reveal`). Tensor statistics are aggregates and shown for every label.
 */
export const artifactView = Effect.fn("ui.artifactView")(function* (store: StoreLayout, runId: string, node: string, output: string, options: { readonly rows: number; readonly reveal: boolean }) {
  const run = yield* readRun(store, runId)
  const n = run.nodes[node]
  if (n === undefined) return yield* new UiNotFound({ message: `run ${runId} has no stage "${node}"` })
  const record = n.outputs?.[output]
  if (record === undefined || n.key === undefined) return yield* new UiNotFound({ message: `stage ${node} of run ${runId} has no output "${output}" (status ${n.status})` })
  const path = join(store.cacheEntry(n.key), record.file)
  const show = record.label !== "private" || options.reveal
  const view: ArtifactView = yield* Effect.tryPromise({
    try: async (): Promise<ArtifactView> => {
      const base = { runId, node, output, record, withheld: false }
      if (record.kind === "table") {
        const info = await parquetInfo(path)
        const schema = info.schema.fields.map((f) => ({ name: f.name, type: String(f.type) }))
        if (!show) return { ...base, withheld: true, schema, rows: info.numRows }
        return { ...base, schema, rows: info.numRows, head: await firstRows(path, options.rows, cell) }
      }
      if (record.kind === "tensors") {
        const t = decodeTensors(new Uint8Array(await readFile(path)))
        const tensors = Object.entries(t).map(([name, v]) => ({ name, dtype: v.dtype, shape: [...v.shape], size: v.data.length, ...summarize(v.data) }))
        return { ...base, tensors }
      }
      if (record.kind === "json") {
        if (!show) return { ...base, withheld: true }
        const text = await readFile(path, "utf8")
        return { ...base, value: text.length > 100_000 ? `${text.slice(0, 100_000)}...` : (JSON.parse(text) as unknown) }
      }
      return { ...base, withheld: !show }
    },
    catch: unreadable(path)
  })
  return view
})
