/**
 * Artifact specifications: the typed outputs and inputs of stages.
 *
 * Four kinds: `table` (rows of a TableSchema, stored as Parquet),
 * `tensors` (named float32/int32 arrays, stored as Arrow IPC), `file` (an opaque blob
 * such as tokenizer.json), and `json` (a small Schema-typed value). An output may fix
 * its privacy label (a loader of private data says `private`); an input may demand a
 * label (the tokenizer demands `public`: docs/privacy.md, P9).
 */
import type { Schema } from "effect"
import type { PrivacyLabel } from "./privacy.ts"
import type { TableSchema } from "./table-schema.ts"

interface SpecBase {
  /** Output: the label this output always carries (a floor for non-mechanisms). */
  readonly label?: PrivacyLabel | undefined
  /** Input: the most sensitive label this input accepts. */
  readonly requires?: PrivacyLabel | undefined
  readonly description?: string | undefined
}

export interface TableSpec<N extends string = string, R = unknown> extends SpecBase {
  readonly kind: "table"
  readonly table: TableSchema<N, R>
}

export interface JsonSpec<N extends string = string, A = unknown> extends SpecBase {
  readonly kind: "json"
  readonly name: N
  readonly schema: Schema.Codec<A, unknown>
}

export interface TensorsSpec<N extends string = string> extends SpecBase {
  readonly kind: "tensors"
  readonly name: N
}

export interface FileSpec<N extends string = string> extends SpecBase {
  readonly kind: "file"
  readonly name: N
  /** File name extension used in the store, e.g. "json" for tokenizer.json. */
  readonly extension: string
}

export type ArtifactSpec = TableSpec<string, unknown> | JsonSpec<string, unknown> | TensorsSpec | FileSpec

/** A named float32 or int32 array with its shape. */
export interface Tensor {
  readonly dtype: "float32" | "int32"
  readonly shape: ReadonlyArray<number>
  readonly data: Float32Array | Int32Array
}
export type TensorMap = Readonly<Record<string, Tensor>>

export const table = <N extends string, R>(t: TableSchema<N, R>, options?: Omit<SpecBase, never>): TableSpec<N, R> => ({
  kind: "table",
  table: t,
  ...options
})

export const json = <const N extends string, A>(name: N, schema: Schema.Codec<A, unknown>, options?: SpecBase): JsonSpec<N, A> => ({
  kind: "json",
  name,
  schema,
  ...options
})

export const tensors = <const N extends string>(name: N, options?: SpecBase): TensorsSpec<N> => ({ kind: "tensors", name, ...options })

export const file = <const N extends string>(name: N, extension: string, options?: SpecBase): FileSpec<N> => ({
  kind: "file",
  name,
  extension,
  ...options
})

/** Marks an output as always carrying `label`. */
export const labelled = (label: PrivacyLabel) => <S extends ArtifactSpec>(spec: S): S => ({ ...spec, label })

/** Marks an input as accepting at most `label` (e.g. `requiring("public")`). */
export const requiring = (label: PrivacyLabel) => <S extends ArtifactSpec>(spec: S): S => ({ ...spec, requires: label })

/** The name that identifies a spec's type, compared when wiring at plan time. */
export const specTypeName = (s: ArtifactSpec): string => (s.kind === "table" ? `table ${s.table.name}` : `${s.kind} ${s.name}`)

/** The file extension under which the runtime stores an artifact. */
export const specExtension = (s: ArtifactSpec): string =>
  s.kind === "table" ? "parquet" : s.kind === "tensors" ? "arrow" : s.kind === "json" ? "json" : s.extension
