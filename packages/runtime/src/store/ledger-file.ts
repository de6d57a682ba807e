/**
 * The run's privacy ledger file, runs/<run-id>/ledger.parquet: one row per ledger
 * entry (id, node, stage key, DP event as JSON, steps, reused, time). Rewritten
 * atomically on every change, so a crash leaves the previous complete ledger.
 */
import { Schema } from "effect"
import { readFile, rm } from "node:fs/promises"
import type { LedgerEntry } from "@dpipe/dsl"
import { Col, LedgerEntry as LedgerEntrySchema, makeTable } from "@dpipe/dsl"
import { parquetInfo, readParquetTable, writeParquetTable } from "../codecs/parquet-table.ts"
import { renameIntoPlace, tempPathFor } from "./atomic.ts"

export const LedgerTable = makeTable("ledger", {
  id: Col.utf8,
  node: Col.utf8,
  stage_key: Col.utf8,
  event_json: Col.utf8,
  steps: Col.int64,
  reused: Col.bool,
  recorded_at: Col.utf8
})

/**
 * The entries of a ledger file ([] when there is none). The file is read whole first: stages
 * record entries (an atomic rename over this path) while other fibers, runners and the
 * dashboard read it, and a lazily read file replaced mid-read cannot be parsed.
 */
export const readLedger = async (path: string): Promise<Array<LedgerEntry>> => {
  let bytes: Uint8Array
  try {
    bytes = await readFile(path)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return []
    throw e
  }
  const input = { path, bytes }
  try {
    await parquetInfo(input)
  } catch (e) {
    throw new Error(`the privacy ledger ${path} cannot be read (${String(e)}); it must not be discarded: restore it from a backup`)
  }
  const out: Array<LedgerEntry> = []
  for await (const rows of readParquetTable(input, LedgerTable)) {
    for (const r of rows) {
      out.push(Schema.decodeUnknownSync(LedgerEntrySchema)({
        id: r.id,
        node: r.node,
        stageKey: r.stage_key,
        event: JSON.parse(r.event_json),
        steps: r.steps,
        reused: r.reused,
        recordedAt: r.recorded_at
      }))
    }
  }
  return out
}

export const writeLedger = async (path: string, entries: ReadonlyArray<LedgerEntry>): Promise<void> => {
  const tmp = tempPathFor(path)
  try {
    await writeLedgerFile(tmp, entries)
  } catch (e) {
    // A failed write (a full disk) leaves the previous complete ledger and no temporary file.
    await rm(tmp, { force: true })
    throw e
  }
  await renameIntoPlace(tmp, path)
}

const writeLedgerFile = (tmp: string, entries: ReadonlyArray<LedgerEntry>) =>
  writeParquetTable(tmp, LedgerTable, entries.map((e) => ({
    id: e.id,
    node: e.node,
    stage_key: e.stageKey,
    event_json: JSON.stringify(e.event),
    steps: e.steps,
    reused: e.reused,
    recorded_at: e.recordedAt
  })), { faultKind: "ledger" })
