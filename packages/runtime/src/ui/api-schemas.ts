/**
 * The dashboard's JSON API (README.md, "The dashboard"): the response of every
 * endpoint as a Schema. Responses are encoded through these, so what other tools read
 * is what this file says.
 *
 *   GET /api/runs                                   RunList
 *   GET /api/runs/:id                               RunDetail
 *   GET /api/runs/:id/events                        server-sent events (RunStreamEvent)
 *   GET /api/runs/:id/artifacts/:node/:output       ArtifactView (?rows=N, ?private=1)
 */
import { Schema } from "effect"
import { RunEventLine } from "../progress/events-file.ts"
import { NodeStatus, OutputRecord, RunRecord, RunStatus } from "../store/records.ts"

export const RunPrivacy = Schema.Struct({
  delta: Schema.Number,
  budgetEpsilon: Schema.Number,
  epsilon: Schema.Record(Schema.String, Schema.Number)
})

export const StageCounts = Schema.Record(NodeStatus, Schema.Number)

/** One row of the runs page. */
export const RunListItem = Schema.Struct({
  runId: Schema.String,
  pipeline: Schema.String,
  description: Schema.optional(Schema.String),
  scale: Schema.String,
  /** "running" only while a live process holds the run's lock. */
  status: RunStatus,
  createdAt: Schema.String,
  updatedAt: Schema.String,
  /** Wall-clock time from the start to the last update (to now while running). */
  durationMs: Schema.Number,
  stages: Schema.Struct({ total: Schema.Number, byStatus: StageCounts }),
  /** Epsilon by each accountant, once the run has finished (run.json's privacy). */
  privacy: Schema.optional(RunPrivacy)
})
export type RunListItem = typeof RunListItem.Type

export const RunList = Schema.Struct({ store: Schema.String, runs: Schema.Array(RunListItem) })
export type RunList = typeof RunList.Type

/** One entry of the run's privacy ledger (ledger.parquet). */
export const LedgerRow = Schema.Struct({
  id: Schema.String,
  node: Schema.String,
  steps: Schema.Number,
  reused: Schema.Boolean,
  recordedAt: Schema.String,
  event: Schema.Unknown
})

/**
 * The store-wide privacy budget per dataset, when the store keeps one
 * (ui/store-budget.ts). Absent until then.
 */
export const StoreBudgetView = Schema.Struct({
  datasets: Schema.Array(Schema.Struct({
    dataset: Schema.String,
    /** null when no budget is declared for the dataset (`pipeline budget set`). */
    budgetEpsilon: Schema.NullOr(Schema.Number),
    spentEpsilon: Schema.Number,
    delta: Schema.NullOr(Schema.Number)
  }))
})
export type StoreBudgetView = typeof StoreBudgetView.Type

/** A JSON output named `statement` that is not private: the run's privacy statement. */
export const StatementView = Schema.Struct({ node: Schema.String, output: Schema.String, label: Schema.String, value: Schema.Unknown })

export const RunDetail = Schema.Struct({
  run: RunRecord,
  ledger: Schema.Array(LedgerRow),
  statement: Schema.optional(StatementView),
  /** Files published into the run directory (report.html) and their privacy label. */
  published: Schema.Array(Schema.Struct({ file: Schema.String, label: Schema.String })),
  storeBudget: Schema.optional(StoreBudgetView)
})
export type RunDetail = typeof RunDetail.Type

export const TensorSummary = Schema.Struct({
  name: Schema.String,
  dtype: Schema.String,
  shape: Schema.Array(Schema.Number),
  size: Schema.Number,
  min: Schema.Number,
  max: Schema.Number,
  mean: Schema.Number,
  std: Schema.Number
})

export const ArtifactView = Schema.Struct({
  runId: Schema.String,
  node: Schema.String,
  output: Schema.String,
  record: OutputRecord,
  /** Rows (tables) or the value (JSON) were withheld: the artifact is private and no reveal was asked. */
  withheld: Schema.Boolean,
  schema: Schema.optional(Schema.Array(Schema.Struct({ name: Schema.String, type: Schema.String }))),
  rows: Schema.optional(Schema.Number),
  head: Schema.optional(Schema.Array(Schema.Record(Schema.String, Schema.Unknown))),
  tensors: Schema.optional(Schema.Array(TensorSummary)),
  value: Schema.optional(Schema.Unknown)
})
export type ArtifactView = typeof ArtifactView.Type

/** The payloads of /api/runs/:id/events: `snapshot` first, then `run` and `progress`. */
export const RunSnapshot = Schema.Struct({ run: RunRecord, events: Schema.Array(RunEventLine) })
export const RunProgress = Schema.Struct({ events: Schema.Array(RunEventLine) })

export const ApiError = Schema.Struct({ error: Schema.String, message: Schema.String })
