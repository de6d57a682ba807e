/**
 * What a model export reads: a finished run as the runtime shows it (nodes, the content
 * hash of each input, each output's label and hash) and a reader for outputs. The
 * runtime's `RunView` has this shape; it is declared here again because stages may not
 * import the runtime (docs/architecture.md), and the composition root checks that the
 * two agree when it passes the export to the CLI.
 */
import type { Effect } from "effect"
import { Schema } from "effect"
import type { Privacy, TensorMap } from "@dpipe/dsl"

export interface SourceNode {
  readonly id: string
  readonly stage: string
  readonly inputs: Readonly<Record<string, string>>
  readonly outputs: Readonly<Record<string, { readonly kind: string; readonly label: Privacy.PrivacyLabel; readonly hash: string }>>
}

/** Any failure of the reader; its message already says what to do. */
export interface SourceError {
  readonly _tag: string
  readonly message: string
}

export interface ExportSource {
  readonly runId: string
  readonly pipeline: string
  readonly scale: string
  readonly nodes: ReadonlyArray<SourceNode>
  readonly read: (node: string, output: string) => Effect.Effect<{ readonly label: Privacy.PrivacyLabel; readonly bytes: Uint8Array }, SourceError>
  readonly readTensors: (node: string, output: string) => Effect.Effect<{ readonly label: Privacy.PrivacyLabel; readonly tensors: TensorMap }, SourceError>
}

export class ModelExportError extends Schema.TaggedError<ModelExportError>()("ModelExportError", {
  message: Schema.String
}) {}
