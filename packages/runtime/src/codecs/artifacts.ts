/**
 * Stage outputs to files and files back to stage inputs, by artifact kind:
 * table -> Parquet, tensors -> Arrow IPC, json -> Schema-encoded JSON, file -> bytes.
 */
import { Effect, Schema, Stream } from "effect"
import { readFile, writeFile } from "node:fs/promises"
import { join } from "node:path"
import type { ArtifactSpec, TableInput, TensorMap } from "@dpipe/dsl"
import { Artifact, ArtifactReadError } from "@dpipe/dsl"
import { messageOf } from "../errors.ts"
import { faultPoint } from "../store/faults.ts"
import { hashBytes } from "./hash.ts"
import { parquetInfo, readParquetTable, writeParquetTable } from "./parquet-table.ts"
import { decodeTensors, encodeTensors } from "./tensors.ts"

export interface WrittenOutput {
  readonly file: string
  readonly kind: ArtifactSpec["kind"]
  readonly hash: string
  readonly bytes: number
  readonly rows?: number
}

/** The file name of output `name` in a cache entry. */
export const outputFileName = (name: string, spec: ArtifactSpec): string => `${name}.${Artifact.specExtension(spec)}`

const toIterable = (value: unknown): AsyncIterable<unknown> | Iterable<unknown> => {
  if (Stream.isStream(value)) return Stream.toAsyncIterable(value as Stream.Stream<unknown, unknown>)
  if (value !== null && typeof value === "object" && (Symbol.asyncIterator in value || Symbol.iterator in value)) {
    return value as AsyncIterable<unknown> | Iterable<unknown>
  }
  throw new TypeError("a table output must be an array, an iterable, an async iterable or a Stream of rows")
}

/** Writes one output value into `dir`. */
export const writeOutput = async (dir: string, name: string, spec: ArtifactSpec, value: unknown): Promise<WrittenOutput> => {
  const file = outputFileName(name, spec)
  const path = join(dir, file)
  const put = async (data: Uint8Array | string): Promise<WrittenOutput> => {
    faultPoint("output", path)
    await writeFile(path, data, { mode: 0o600 }) // owner only (store/permissions.ts)
    return { file, kind: spec.kind, hash: hashBytes(data), bytes: typeof data === "string" ? Buffer.byteLength(data) : data.length }
  }
  switch (spec.kind) {
    case "table": {
      const w = await writeParquetTable(path, spec.table, toIterable(value))
      return { file, kind: "table", ...w }
    }
    case "json": {
      const encoded = Schema.encodeUnknownSync(spec.schema)(value)
      return put(JSON.stringify(encoded, null, 2) + "\n")
    }
    case "tensors":
      return put(encodeTensors(value as TensorMap))
    case "file":
      if (typeof value !== "string" && !(value instanceof Uint8Array)) throw new TypeError(`file output "${name}" must be a string or Uint8Array`)
      return put(value)
  }
}

/** A TableInput over a Parquet file. */
export const tableInput = async <R>(path: string, spec: Artifact.TableSpec<string, R>): Promise<TableInput<R>> => {
  const { numRows } = await parquetInfo(path)
  const batches = (options?: { readonly batchSize?: number }) =>
    Stream.fromAsyncIterable(readParquetTable(path, spec.table, options?.batchSize ?? 8192), (e) => new ArtifactReadError({ path, message: messageOf(e) }))
  return {
    path,
    numRows,
    batches,
    readAll: Stream.runCollect(batches()).pipe(Effect.map((chunks) => Array.from(chunks).flat()))
  }
}

/** Reads one input value from a file. */
export const readInput = async (path: string, spec: ArtifactSpec): Promise<unknown> => {
  switch (spec.kind) {
    case "table":
      return tableInput(path, spec)
    case "json":
      return Schema.decodeUnknownSync(spec.schema)(JSON.parse(await readFile(path, "utf8")))
    case "tensors":
      return decodeTensors(new Uint8Array(await readFile(path)))
    case "file":
      return new Uint8Array(await readFile(path))
  }
}
