/**
 * The first rows of a Parquet table as plain objects, each cell passed through the
 * caller's formatter (`inspect` prints lists as text, the dashboard keeps them as arrays).
 */
import * as arrow from "apache-arrow"
import { openAsBlob } from "node:fs"
import * as pw from "parquet-wasm/node"

export const firstRows = async (path: string, n: number, cell: (v: unknown) => unknown): Promise<Array<Record<string, unknown>>> => {
  const file = await pw.ParquetFile.fromFile(await openAsBlob(path))
  try {
    const t = arrow.tableFromIPC((await file.read({ limit: n })).intoIPCStream())
    return t.toArray().slice(0, n).map((row: { toJSON: () => Record<string, unknown> }) => Object.fromEntries(Object.entries(row.toJSON()).map(([k, v]) => [k, cell(v)])))
  } finally {
    file.free()
  }
}
