/**
 * Runtime errors. Each message says what went wrong and what the user can do.
 */
import { Schema } from "effect"
import { resumeCommandLine } from "./command-line.ts"

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

/**
 * The disk holding the run store is full (ENOSPC) or the user's quota is spent
 * (EDQUOT). Every store write cleans up after itself, so the store stays as it was
 * before the failed write and the run can be resumed once there is space.
 */
export class DiskFull extends Schema.TaggedError<DiskFull>()("DiskFull", {
  /** The store root. */
  path: Schema.String,
  message: Schema.String
}) {}

/** True when a thrown value, or a failure message that carries one, is a full disk. */
export const isDiskFull = (e: unknown): boolean => {
  const code = typeof e === "object" && e !== null && "code" in e ? (e as { readonly code: unknown }).code : undefined
  if (code === "ENOSPC" || code === "EDQUOT") return true
  return /\b(ENOSPC|EDQUOT)\b|no space left on device|disk quota exceeded/i.test(typeof e === "string" ? e : messageOf(e))
}

/** The DiskFull error of a run: what failed, and how to continue. */
export const diskFull = (root: string, runId: string, what: string): DiskFull =>
  new DiskFull({
    path: root,
    message: `No space left on the disk holding the run store ${root}: ${what}. Nothing half-written was kept (cache entries, manifests, checkpoints, run.json and the privacy ledger are as they were before the failed write). ` +
      `Free space on that disk, or move the whole store to a larger one and pass --store DIR, then continue with: ${resumeCommandLine({ root }, runId)} (with --store DIR if you moved the store)`
  })

/** The message of any thrown value. */
export const messageOf = (e: unknown): string =>
  e instanceof Error ? e.message : typeof e === "object" && e !== null && "message" in e ? String((e as { message: unknown }).message) : String(e)
