/**
 * Runtime errors. Each message says what went wrong and what the user can do.
 */
import { Schema } from "effect"

export class StoreError extends Schema.TaggedError<StoreError>()("StoreError", {
  path: Schema.String,
  message: Schema.String
}) {}

export class RunLocked extends Schema.TaggedError<RunLocked>()("RunLocked", {
  runId: Schema.String,
  message: Schema.String
}) {}

export class RunNotFound extends Schema.TaggedError<RunNotFound>()("RunNotFound", {
  runId: Schema.String,
  message: Schema.String
}) {}

export class PipelineNotFound extends Schema.TaggedError<PipelineNotFound>()("PipelineNotFound", {
  name: Schema.String,
  message: Schema.String
}) {}

export class StageExecutionFailed extends Schema.TaggedError<StageExecutionFailed>()("StageExecutionFailed", {
  node: Schema.String,
  message: Schema.String
}) {}

export class RunFailed extends Schema.TaggedError<RunFailed>()("RunFailed", {
  runId: Schema.String,
  message: Schema.String
}) {}

export class RunInterrupted extends Schema.TaggedError<RunInterrupted>()("RunInterrupted", {
  runId: Schema.String,
  message: Schema.String
}) {}

export class CodecError extends Schema.TaggedError<CodecError>()("CodecError", {
  path: Schema.String,
  message: Schema.String
}) {}

/** The message of any thrown value. */
export const messageOf = (e: unknown): string =>
  e instanceof Error ? e.message : typeof e === "object" && e !== null && "message" in e ? String((e as { message: unknown }).message) : String(e)
