/**
 * Row schemas of table artifacts.
 *
 * A table is declared from a small vocabulary of column types, each pairing an Effect
 * Schema (validation, TypeScript type) with its Arrow/Parquet physical type, so that
 * one declaration gives the row type, the decoder, and the file format. The table's
 * name is part of its type: wiring a table of one schema into an input of another
 * fails at compile time.
 */
import { Schema } from "effect"

/** Physical column types (Arrow names). */
export type ColumnKind = "utf8" | "int32" | "int64" | "float32" | "float64" | "bool" | "list<int32>" | "list<float32>"

/** One column: its Arrow type and the Schema of its values. */
export interface Column<K extends ColumnKind, A> {
  readonly kind: K
  readonly schema: Schema.Codec<A, A>
}

const col = <K extends ColumnKind, A>(kind: K, schema: Schema.Codec<A, A>): Column<K, A> => ({ kind, schema })

/** The column vocabulary. */
export const Col = {
  utf8: col("utf8", Schema.String),
  int32: col("int32", Schema.Number.check(Schema.isInt32())),
  /** Integers up to 2^53, stored as int64. */
  int64: col("int64", Schema.Number.check(Schema.isInt())),
  float32: col("float32", Schema.Number),
  float64: col("float64", Schema.Number),
  bool: col("bool", Schema.Boolean),
  int32List: col("list<int32>", Schema.instanceOf(Int32Array)),
  float32List: col("list<float32>", Schema.instanceOf(Float32Array))
} as const

export type AnyColumn = Column<ColumnKind, unknown>
export type Columns = Readonly<Record<string, AnyColumn>>

/** The row type of a column record. */
export type RowOf<C extends Columns> = { readonly [K in keyof C]: C[K] extends Column<ColumnKind, infer A> ? A : never }

/** A named table schema. */
export interface TableSchema<N extends string, R> {
  readonly name: N
  readonly columns: Columns
  /** Validates one row. */
  readonly row: Schema.Codec<R, R>
}

/** Declares a table schema: `Table.make("documents", { doc_id: Col.utf8, text: Col.utf8 })`. */
export const makeTable = <const N extends string, const C extends Columns>(name: N, columns: C): TableSchema<N, RowOf<C>> => {
  const fields: Record<string, Schema.Codec<unknown, unknown>> = {}
  for (const [k, c] of Object.entries(columns)) fields[k] = c.schema
  return {
    name,
    columns,
    row: Schema.Struct(fields) as unknown as Schema.Codec<RowOf<C>, RowOf<C>>
  }
}

/** The row type of a table schema. */
export type Row<T> = T extends TableSchema<string, infer R> ? R : never

/** A printable signature of a table's columns, compared at plan time. */
export const tableSignature = (t: TableSchema<string, unknown>): string =>
  `${t.name}(${Object.entries(t.columns).map(([k, c]) => `${k}: ${c.kind}`).join(", ")})`
