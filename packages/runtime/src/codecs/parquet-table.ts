/**
 * Table artifacts as Parquet files (parquet-wasm for the format, apache-arrow for the
 * in-memory batches), written and read as streams of record batches so that a table
 * larger than memory never sits in the JS heap at once.
 *
 * Writing: rows are grouped into batches of about `targetBatchBytes`, each batch is
 * converted to Arrow IPC and handed to parquet-wasm's streaming writer (zstd, one row
 * group per batch); the file's sha256 is computed on the way to disk. Reading:
 * parquet-wasm streams record batches from a lazily read file Blob.
 */
import * as arrow from "apache-arrow"
import { createHash } from "node:crypto"
import { openAsBlob } from "node:fs"
import { open } from "node:fs/promises"
import * as pw from "parquet-wasm/node"
import type { Table } from "@dpipe/dsl"
import { type FaultKind, faultPoint } from "../store/faults.ts"
import { arrowSchemaOf, batchToRows, rowsToBatch, schemaProblem } from "./arrow-rows.ts"

export interface WrittenFile {
  readonly hash: string
  readonly bytes: number
  readonly rows?: number
}

/** A rough per-row byte size, to size batches. */
const rowBytes = (row: Record<string, unknown>): number => {
  let b = 16
  for (const v of Object.values(row)) {
    if (typeof v === "string") b += v.length + 4
    else if (ArrayBuffer.isView(v)) b += v.byteLength + 4
    else b += 8
  }
  return b
}

async function* batchesOf(rows: AsyncIterable<Record<string, unknown>> | Iterable<Record<string, unknown>>, targetBytes: number, maxRows: number): AsyncGenerator<Array<Record<string, unknown>>> {
  let batch: Array<Record<string, unknown>> = []
  let bytes = 0
  for await (const row of rows) {
    batch.push(row)
    bytes += rowBytes(row)
    if (bytes >= targetBytes || batch.length >= maxRows) {
      yield batch
      batch = []
      bytes = 0
    }
  }
  if (batch.length > 0) yield batch
}

/** Writes rows to `path` as Parquet (zstd); returns the file's hash, size and row count. */
export const writeParquetTable = async (
  path: string,
  table: Table.TableSchema<string, unknown>,
  rows: AsyncIterable<unknown> | Iterable<unknown>,
  options: { readonly targetBatchBytes?: number; readonly maxBatchRows?: number; readonly faultKind?: FaultKind } = {}
): Promise<WrittenFile> => {
  const schema = arrowSchemaOf(table)
  const it = batchesOf(rows as AsyncIterable<Record<string, unknown>>, options.targetBatchBytes ?? 8 * 1024 * 1024, options.maxBatchRows ?? 65536)[Symbol.asyncIterator]()
  let count = 0
  let wroteAny = false
  // parquet-wasm reports a failed source only as "Dyn casting error": keep the real one.
  let sourceError: unknown = undefined
  const toWasm = (b: arrow.RecordBatch): Array<pw.RecordBatch> => pw.Table.fromIPCStream(arrow.tableToIPC(new arrow.Table([b]), "stream")).recordBatches()
  const source = new ReadableStream<pw.RecordBatch>({
    async pull(controller) {
      try {
        const next = await it.next()
        if (next.done) {
          // An empty table still needs its schema in the file.
          if (!wroteAny) for (const b of toWasm(rowsToBatch([], table, schema, 0))) controller.enqueue(b)
          controller.close()
          return
        }
        const batch = rowsToBatch(next.value, table, schema, count)
        count += next.value.length
        wroteAny = true
        for (const b of toWasm(batch)) controller.enqueue(b)
      } catch (e) {
        sourceError = e
        controller.error(e)
      }
    }
  })
  const props = new pw.WriterPropertiesBuilder()
    .setCompression(pw.Compression.ZSTD)
    .setCreatedBy("dpipe")
    .setMaxRowGroupSize(options.maxBatchRows ?? 65536)
    .build()
  const hash = createHash("sha256")
  const fh = await open(path, "w", 0o600) // owner only (store/permissions.ts)
  let bytes = 0
  try {
    const encoded = await pw.transformParquetStream(source, props)
    const reader = encoded.getReader()
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      const chunk = value as Uint8Array
      hash.update(chunk)
      bytes += chunk.length
      faultPoint(options.faultKind ?? "output", path)
      await fh.write(chunk)
    }
    await fh.sync()
  } catch (e) {
    throw sourceError ?? e
  } finally {
    await fh.close()
  }
  if (sourceError !== undefined) throw sourceError
  return { hash: hash.digest("hex"), bytes, rows: count }
}

/**
 * A Parquet file to read: a path (read lazily, batch by batch), or the file's bytes already
 * in memory. A lazily read file must not be replaced while it is read (the read fails
 * inside parquet-wasm); a file that other fibers or processes rename over while it may be
 * read (the privacy ledger) is read whole first, so the reader sees one complete version.
 */
export type ParquetInput = string | { readonly path: string; readonly bytes: Uint8Array }

const pathOf = (input: ParquetInput): string => (typeof input === "string" ? input : input.path)
const blobOf = async (input: ParquetInput): Promise<Blob> => (typeof input === "string" ? await openAsBlob(input) : new Blob([input.bytes]))

/** Number of rows and the Arrow schema of a Parquet file, from its footer. */
export const parquetInfo = async (input: ParquetInput): Promise<{ readonly numRows: number; readonly schema: arrow.Schema }> => {
  const file = await pw.ParquetFile.fromFile(await blobOf(input))
  try {
    const meta = file.metadata()
    const numRows = meta.fileMetadata().numRows()
    const schemaIpc = file.schema().intoIPCStream()
    const schema = arrow.tableFromIPC(schemaIpc).schema
    return { numRows, schema }
  } finally {
    file.free()
  }
}

/** Streams the rows of a Parquet table in batches, after checking its schema. */
export async function* readParquetTable<R>(input: ParquetInput, table: Table.TableSchema<string, R>, batchSize = 8192): AsyncGenerator<Array<R>> {
  const path = pathOf(input)
  const file = await pw.ParquetFile.fromFile(await blobOf(input))
  const problem = schemaProblem(arrow.tableFromIPC(file.schema().intoIPCStream()).schema, table as Table.TableSchema<string, unknown>)
  if (problem !== undefined) {
    file.free()
    throw new TypeError(`${path} does not hold table ${table.name}: ${problem}`)
  }
  const stream = await file.stream({ batchSize })
  const reader = stream.getReader()
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      const t = arrow.tableFromIPC((value as pw.RecordBatch).intoIPCStream())
      for (const b of t.batches) yield batchToRows(b, table)
    }
  } finally {
    reader.releaseLock()
    file.free()
  }
}
