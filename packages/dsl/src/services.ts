/**
 * The services a stage may use while it runs. The dsl declares them; the runtime
 * provides them as Layers (so stages never touch the run store directly and stay
 * free of process-global state, ready to run as workflow activities later).
 */
import { Context, Schema } from "effect"
import type { Effect, Option } from "effect"
import type { TensorMap } from "./artifact.ts"

/** A mid-stage checkpoint: named tensors plus JSON state at a step. */
export interface Checkpoint {
  readonly step: number
  readonly tensors: TensorMap
  readonly state: unknown
}

export class CheckpointError extends Schema.TaggedError<CheckpointError>()("CheckpointError", {
  message: Schema.String
}) {}

/** Save and restore mid-stage checkpoints of the current stage (the last K are kept). */
export class Checkpoints extends Context.Service<Checkpoints, {
  /** The newest valid checkpoint of this stage execution, if any. */
  readonly latest: Effect.Effect<Option.Option<Checkpoint>, CheckpointError>
  /** Writes a checkpoint atomically; older ones beyond the keep limit are removed. */
  readonly save: (checkpoint: Checkpoint) => Effect.Effect<void, CheckpointError>
}>()("dpipe/Checkpoints") {}

/** Metrics shown next to a stage's progress bar (loss, epsilon, tokens/s, ...). */
export type ProgressMetrics = Readonly<Record<string, number | string>>

/**
 * Progress reporting for long stages. This is also where wall-clock figures belong:
 * an artifact must be a pure function of config, inputs and the store secret (so that
 * a rerun or a resumed run writes the same bytes), so throughput and timings go to
 * the progress line and to `telemetry`, never into an output.
 */
export class Progress extends Context.Service<Progress, {
  /** Reports that `step` of `total` units are done; `total` 0 when it is not known (the display shows a count). */
  readonly update: (step: number, total: number, metrics?: ProgressMetrics) => Effect.Effect<void>
  /** A line of information for the log and the display. */
  readonly info: (message: string) => Effect.Effect<void>
  /**
   * Wall-clock measurements of this execution (tokens/s, seconds of compute): written to
   * the run record (run.json, the node's `telemetry`) and to the run's log, merged by
   * name with earlier values. Never part of an artifact or a key.
   */
  readonly telemetry: (values: ProgressMetrics) => Effect.Effect<void>
}>()("dpipe/Progress") {}

/** One row of a run's privacy ledger. */
export const LedgerEntry = Schema.Struct({
  /** Stable id: re-recording the same id replaces the entry (resume never double-counts). */
  id: Schema.String,
  /** The pipeline node that spent the budget. */
  node: Schema.String,
  /** The stage key of that execution. */
  stageKey: Schema.String,
  /** The DP event, as JSON (the accountant's own encoding). */
  event: Schema.Unknown,
  /** Steps of the mechanism covered by this entry (for display). */
  steps: Schema.Number,
  /** True when the release was reused from the cache rather than computed in this run. */
  reused: Schema.Boolean,
  recordedAt: Schema.String
})
export type LedgerEntry = typeof LedgerEntry.Type

export class LedgerError extends Schema.TaggedError<LedgerError>()("LedgerError", {
  message: Schema.String
}) {}

/** The answer to "what would the run's epsilon be with these extra events?". */
export interface SpendCheck {
  readonly epsilon: number
  /** The accountant that computed `epsilon`: the pipeline's authoritative (first) one, e.g. "pld". */
  readonly accountant?: string | undefined
  readonly budgetEpsilon: number | undefined
  /** The delta of the pipeline's budget (at which `epsilon` is stated). */
  readonly delta: number | undefined
  readonly withinBudget: boolean
}

/** The run's privacy ledger, as seen by a DP mechanism stage. */
export class PrivacyLedger extends Context.Service<PrivacyLedger, {
  /** Records (or replaces, by id) this stage's spend; written atomically before returning. */
  readonly record: (entry: { readonly id: string; readonly event: unknown; readonly steps: number }) => Effect.Effect<void, LedgerError>
  /** The run's epsilon if `event` replaced the entry `id` (or was added). */
  readonly check: (entry: { readonly id: string; readonly event: unknown }) => Effect.Effect<SpendCheck, LedgerError>
}>()("dpipe/PrivacyLedger") {}

/** All services a stage's run may require. */
export type StageServices = Checkpoints | Progress | PrivacyLedger
