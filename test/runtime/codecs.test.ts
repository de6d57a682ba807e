import { describe, expect, it } from "vitest"
import { join } from "node:path"
import { Col, makeTable } from "@dpipe/dsl"
import { decodeTensors, encodeTensors, readParquetTable, writeParquetTable } from "@dpipe/runtime"
import { tempStore } from "./helpers.ts"

const T = makeTable("codec_test", { id: Col.int64, name: Col.utf8, x: Col.float32, ok: Col.bool, toks: Col.int32List, w: Col.float32List })

describe("codecs", () => {
  it("round-trips every column type through Parquet, across batches", async () => {
    const path = join(tempStore(), "t.parquet")
    const rows = Array.from({ length: 5000 }, (_, i) => ({
      id: i * 1_000_003,
      name: `n${i}-ü-😀`,
      x: Math.fround(i / 7),
      ok: i % 3 === 0,
      toks: Int32Array.from({ length: i % 17 }, (_, j) => j - 5),
      w: Float32Array.from({ length: i % 5 }, (_, j) => j / 3)
    }))
    const w = await writeParquetTable(path, T, rows, { maxBatchRows: 700 })
    expect(w.rows).toBe(5000)
    const back: Array<(typeof rows)[number]> = []
    for await (const b of readParquetTable(path, T, 999)) back.push(...b)
    expect(back).toEqual(rows)
  })

  it("keeps the real error when a row is invalid, and refuses a file of another schema", async () => {
    const path = join(tempStore(), "bad.parquet")
    const rows = [{ id: 1, name: "a", x: 1, ok: true, toks: new Int32Array(0), w: new Float32Array(0) }, { id: 2, name: 3, x: 1, ok: true, toks: new Int32Array(0), w: new Float32Array(0) }]
    await expect(writeParquetTable(path, T, rows)).rejects.toThrow(/row 1, column "name": expected a string, got number/)
    const other = join(tempStore(), "other.parquet")
    await writeParquetTable(other, makeTable("other", { id: Col.utf8 }), [{ id: "x" }])
    const read = async () => {
      for await (const _ of readParquetTable(other, T)) void _
    }
    await expect(read()).rejects.toThrow(/does not hold table codec_test: missing column "name"|column "id" is/)
  })

  it("round-trips tensors bit for bit", () => {
    const f = new Float32Array([0, -0, 1.5, Number.NaN, Infinity, 1e-45])
    const t = decodeTensors(encodeTensors({ b: { dtype: "int32", shape: [2, 2], data: new Int32Array([1, -2, 3, 2 ** 31 - 1]) }, a: { dtype: "float32", shape: [6], data: f } }))
    expect(Array.from(t["b"]!.data)).toEqual([1, -2, 3, 2 ** 31 - 1])
    expect(Buffer.from(t["a"]!.data.buffer, t["a"]!.data.byteOffset, 24).equals(Buffer.from(f.buffer))).toBe(true)
    expect(t["a"]!.shape).toEqual([6])
  })
})
