/**
 * Rows <-> Arrow record batches for a dsl TableSchema (apache-arrow).
 *
 * Columns are built directly from typed arrays (list<int32> from one concatenated
 * Int32Array plus offsets) rather than through apache-arrow's generic builders, which
 * are several times slower for token lists.
 */
import * as arrow from "apache-arrow"
import type { Table } from "@dpipe/dsl"

type Kind = Table.ColumnKind

const arrowType = (kind: Kind): arrow.DataType => {
  switch (kind) {
    case "utf8": return new arrow.Utf8()
    case "int32": return new arrow.Int32()
    case "int64": return new arrow.Int64()
    case "float32": return new arrow.Float32()
    case "float64": return new arrow.Float64()
    case "bool": return new arrow.Bool()
    case "list<int32>": return new arrow.List(new arrow.Field("item", new arrow.Int32(), false))
    case "list<float32>": return new arrow.List(new arrow.Field("item", new arrow.Float32(), false))
  }
}

export const arrowSchemaOf = (table: Table.TableSchema<string, unknown>): arrow.Schema =>
  new arrow.Schema(
    Object.entries(table.columns).map(([name, c]) => new arrow.Field(name, arrowType(c.kind), false)),
    new Map([["dpipe.table", table.name]])
  )

/** The column kind an Arrow type stores, or undefined when dpipe has none for it. */
const kindOf = (t: arrow.DataType): Kind | undefined => {
  if (arrow.DataType.isUtf8(t) || arrow.DataType.isLargeUtf8(t)) return "utf8"
  if (arrow.DataType.isBool(t)) return "bool"
  if (arrow.DataType.isInt(t)) return t.bitWidth === 64 ? "int64" : t.bitWidth === 32 ? "int32" : undefined
  if (arrow.DataType.isFloat(t)) return t.precision === arrow.Precision.DOUBLE ? "float64" : t.precision === arrow.Precision.SINGLE ? "float32" : undefined
  if (arrow.DataType.isList(t) || arrow.DataType.isLargeList(t)) {
    const child = t.children[0]?.type
    if (child === undefined) return undefined
    const k = kindOf(child)
    return k === "int32" ? "list<int32>" : k === "float32" ? "list<float32>" : undefined
  }
  return undefined
}

/** Checks a file's Arrow schema against the expected table; returns a problem or undefined. */
export const schemaProblem = (actual: arrow.Schema, table: Table.TableSchema<string, unknown>): string | undefined => {
  for (const [name, c] of Object.entries(table.columns)) {
    const f = actual.fields.find((x) => x.name === name)
    if (f === undefined) return `missing column "${name}" (${c.kind}); the file has ${actual.fields.map((x) => x.name).join(", ")}`
    const k = kindOf(f.type)
    if (k !== c.kind) return `column "${name}" is ${String(f.type)}, expected ${c.kind}`
  }
  return undefined
}

const fail = (column: string, row: number, expected: string, value: unknown): never => {
  throw new TypeError(`row ${row}, column "${column}": expected ${expected}, got ${value === null ? "null" : typeof value === "object" ? (value as object).constructor?.name : typeof value}`)
}

/** Builds one record batch from rows, checking each value's type. */
export const rowsToBatch = (rows: ReadonlyArray<Record<string, unknown>>, table: Table.TableSchema<string, unknown>, schema: arrow.Schema, firstRow: number): arrow.RecordBatch => {
  const n = rows.length
  const children: Array<arrow.Data> = []
  for (const [name, c] of Object.entries(table.columns)) {
    const type = arrowType(c.kind)
    switch (c.kind) {
      case "utf8": {
        const values: Array<string> = new Array(n)
        for (let i = 0; i < n; i++) {
          const v = rows[i]![name]
          if (typeof v !== "string") fail(name, firstRow + i, "a string", v)
          values[i] = v as string
        }
        children.push(arrow.vectorFromArray(values, new arrow.Utf8()).data[0]!)
        break
      }
      case "bool": {
        const values: Array<boolean> = new Array(n)
        for (let i = 0; i < n; i++) {
          const v = rows[i]![name]
          if (typeof v !== "boolean") fail(name, firstRow + i, "a boolean", v)
          values[i] = v as boolean
        }
        children.push(arrow.vectorFromArray(values, new arrow.Bool()).data[0]!)
        break
      }
      case "int32":
      case "float32":
      case "float64": {
        const data = c.kind === "int32" ? new Int32Array(n) : c.kind === "float32" ? new Float32Array(n) : new Float64Array(n)
        for (let i = 0; i < n; i++) {
          const v = rows[i]![name]
          if (typeof v !== "number") fail(name, firstRow + i, "a number", v)
          if (c.kind === "int32" && ((v as number) | 0) !== v) fail(name, firstRow + i, "an int32", v)
          data[i] = v as number
        }
        children.push(arrow.makeData({ type, length: n, data } as never))
        break
      }
      case "int64": {
        const data = new BigInt64Array(n)
        for (let i = 0; i < n; i++) {
          const v = rows[i]![name]
          if (typeof v !== "number" || !Number.isSafeInteger(v)) fail(name, firstRow + i, "a safe integer", v)
          data[i] = BigInt(v as number)
        }
        children.push(arrow.makeData({ type: new arrow.Int64(), length: n, data }))
        break
      }
      case "list<int32>":
      case "list<float32>": {
        const Ctor = c.kind === "list<int32>" ? Int32Array : Float32Array
        const offsets = new Int32Array(n + 1)
        let total = 0
        for (let i = 0; i < n; i++) {
          const v = rows[i]![name]
          if (!(v instanceof Ctor)) fail(name, firstRow + i, Ctor.name, v)
          total += (v as Int32Array).length
          offsets[i + 1] = total
        }
        const values = new Ctor(total)
        for (let i = 0; i < n; i++) values.set(rows[i]![name] as Int32Array & Float32Array, offsets[i]!)
        const childType = c.kind === "list<int32>" ? new arrow.Int32() : new arrow.Float32()
        const child = arrow.makeData({ type: childType, length: total, data: values } as never)
        children.push(arrow.makeData({ type: type as arrow.List, length: n, valueOffsets: offsets, child }))
        break
      }
    }
  }
  return new arrow.RecordBatch(schema, arrow.makeData({ type: new arrow.Struct(schema.fields), length: n, children }))
}

/** Reads the rows of a record batch as plain objects (typed-array lists are copied). */
export const batchToRows = <R>(batch: arrow.RecordBatch, table: Table.TableSchema<string, R>): Array<R> => {
  const n = batch.numRows
  const rows: Array<Record<string, unknown>> = Array.from({ length: n }, () => ({}))
  for (const [name, c] of Object.entries(table.columns)) {
    const col = batch.getChild(name)
    if (col === null) throw new TypeError(`missing column "${name}"`)
    if (c.kind === "list<int32>" || c.kind === "list<float32>") {
      let row = 0
      for (const data of col.data) {
        const offsets = data.valueOffsets as Int32Array
        const values = data.children[0]!.values as Int32Array | Float32Array
        const childOffset = data.children[0]!.offset
        for (let i = 0; i < data.length; i++) {
          const a = offsets[data.offset + i]! + childOffset
          const b = offsets[data.offset + i + 1]! + childOffset
          rows[row++]![name] = values.slice(a, b)
        }
      }
    } else if (c.kind === "int64") {
      for (let i = 0; i < n; i++) rows[i]![name] = Number(col.get(i) as bigint)
    } else {
      for (let i = 0; i < n; i++) rows[i]![name] = col.get(i)
    }
  }
  return rows as Array<R>
}
