/**
 * @dpipe/dsl: the vocabulary of dpipe pipelines. Pure: no file or network I/O.
 *
 * - `Table`, `Col`: row schemas of table artifacts.
 * - `Artifact`: artifact specs (table, tensors, file, json) and privacy labels.
 * - `Stage`: declares a stage; `Pipeline`: wires stages into a DAG.
 * - `Params`: pipeline parameters several nodes read (`--set params.steps=120`) and
 *   the settings derived from them; `settingsFor`: type-checked scale presets.
 * - `Plan`: validates a pipeline for a scale and settings (every problem at once, with
 *   "did you mean" for mistyped keys); `stageKey` keys executions.
 * - Services a stage may use: `Checkpoints`, `Progress`, `PrivacyLedger`.
 */
export * as Artifact from "./artifact.ts"
export type { ArtifactSpec, Tensor, TensorMap } from "./artifact.ts"
export { canonicalJson } from "./canonical-json.ts"
export * as Pipeline from "./pipeline.ts"
export type { Accountant, OutputRef, PipelineGraph, Settings } from "./pipeline.ts"
export { AccountingFailed } from "./pipeline.ts"
export * as Plan from "./plan.ts"
export { PlanError } from "./plan.ts"
export * as Privacy from "./privacy.ts"
export type { PrivacyLabel } from "./privacy.ts"
export * from "./services.ts"
export { parseSettings } from "./settings.ts"
export * as Params from "./params.ts"
export type { Matching, PipelineParams, TypedParams } from "./params.ts"
export { flattenSettings, settingsFor } from "./node-settings.ts"
export type { NodeSettings, StageSettings } from "./node-settings.ts"
export * as Stage from "./stage.ts"
export { ArtifactReadError, StageFailed } from "./stage.ts"
export type { DatasetDeclaration, StageContext, StageError, TableInput, TableRows } from "./stage.ts"
export { stageKey } from "./stage-key.ts"
export { Col, makeTable } from "./table-schema.ts"
export type { Row, TableSchema } from "./table-schema.ts"
export * as Table from "./table-schema.ts"
