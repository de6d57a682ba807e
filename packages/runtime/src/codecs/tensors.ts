/**
 * Tensor artifacts and checkpoints as Arrow IPC files: one row per tensor with
 * columns name (utf8), dtype (utf8), shape (list<int32>), f32 (list<float32>) and
 * i32 (list<int32>); the unused data column of a row is empty. pyarrow reads it with
 * `pyarrow.ipc.open_file`. Values round-trip bit for bit.
 */
import * as arrow from "apache-arrow"
import type { Tensor, TensorMap } from "@dpipe/dsl"
import { makeTable, Col } from "@dpipe/dsl"
import { arrowSchemaOf, batchToRows, rowsToBatch } from "./arrow-rows.ts"

const TensorRows = makeTable("tensors", {
  name: Col.utf8,
  dtype: Col.utf8,
  shape: Col.int32List,
  f32: Col.float32List,
  i32: Col.int32List
})

const emptyF = new Float32Array(0)
const emptyI = new Int32Array(0)

/** Encodes named tensors as an Arrow IPC file (sorted by name, so bytes are deterministic). */
export const encodeTensors = (tensors: TensorMap): Uint8Array => {
  const rows = Object.keys(tensors)
    .sort()
    .map((name) => {
      const t = tensors[name]!
      const size = t.shape.reduce((a, b) => a * b, 1)
      if (size !== t.data.length) throw new RangeError(`tensor "${name}": shape [${t.shape.join(", ")}] has ${size} elements but data has ${t.data.length}`)
      if ((t.dtype === "float32") !== t.data instanceof Float32Array) throw new TypeError(`tensor "${name}": dtype ${t.dtype} does not match its data array`)
      return {
        name,
        dtype: t.dtype,
        shape: Int32Array.from(t.shape),
        f32: t.data instanceof Float32Array ? t.data : emptyF,
        i32: t.data instanceof Int32Array ? t.data : emptyI
      }
    })
  const schema = arrowSchemaOf(TensorRows)
  return arrow.tableToIPC(new arrow.Table([rowsToBatch(rows, TensorRows, schema, 0)]), "file")
}

export const decodeTensors = (bytes: Uint8Array): TensorMap => {
  const table = arrow.tableFromIPC(bytes)
  const out: Record<string, Tensor> = {}
  for (const b of table.batches) {
    for (const r of batchToRows(b, TensorRows)) {
      const shape = Array.from(r.shape)
      out[r.name] = r.dtype === "float32" ? { dtype: "float32", shape, data: r.f32 } : { dtype: "int32", shape, data: r.i32 }
    }
  }
  return out
}
