/**
 * Schemas of the run store's JSON files: a cache entry's manifest.json and a run's
 * run.json. Every read decodes through these, so a damaged file is an error that
 * names the file, not a crash later on.
 */
import { Schema } from "effect"
import { LedgerEntry, Privacy } from "@dpipe/dsl"

export const OutputRecord = Schema.Struct({
  /** File name inside the cache entry. */
  file: Schema.String,
  kind: Schema.Literals(["table", "tensors", "file", "json"]),
  /** sha256 of the file's bytes. */
  hash: Schema.String,
  bytes: Schema.Number,
  rows: Schema.optional(Schema.Number),
  label: Privacy.PrivacyLabel
})
export type OutputRecord = typeof OutputRecord.Type

export const Manifest = Schema.Struct({
  format: Schema.Literal("dpipe-manifest/1"),
  key: Schema.String,
  stage: Schema.String,
  version: Schema.String,
  /** The code fingerprint in the key (code/fingerprint.ts). */
  code: Schema.optional(Schema.String),
  /** Set when `pipeline carry` re-keyed this entry from another one: that entry's key. */
  carriedFrom: Schema.optional(Schema.String),
  node: Schema.String,
  config: Schema.Unknown,
  perf: Schema.Unknown,
  /** Input name -> content hash. */
  inputs: Schema.Record(Schema.String, Schema.String),
  outputs: Schema.Record(Schema.String, OutputRecord),
  /** Ledger entries spent by this execution (mechanism stages). */
  ledger: Schema.Array(LedgerEntry),
  startedAt: Schema.String,
  finishedAt: Schema.String,
  durationMs: Schema.Number,
  versions: Schema.Record(Schema.String, Schema.String),
  runId: Schema.String
})
export type Manifest = typeof Manifest.Type

export const NodeStatus = Schema.Literals(["pending", "running", "done", "cached", "failed", "blocked", "interrupted"])
export type NodeStatus = typeof NodeStatus.Type

export const NodeRecord = Schema.Struct({
  stage: Schema.String,
  status: NodeStatus,
  /** The nodes whose outputs this node reads (the DAG's edges, for the dashboard). */
  dependsOn: Schema.optional(Schema.Array(Schema.String)),
  key: Schema.optional(Schema.String),
  startedAt: Schema.optional(Schema.String),
  finishedAt: Schema.optional(Schema.String),
  durationMs: Schema.optional(Schema.Number),
  error: Schema.optional(Schema.String),
  outputs: Schema.optional(Schema.Record(Schema.String, OutputRecord)),
  /**
   * Wall-clock telemetry the stage reported in its last execution (tokens/s, seconds
   * of compute). It lives here and in run.log, never in an artifact.
   */
  telemetry: Schema.optional(Schema.Record(Schema.String, Schema.Union([Schema.Number, Schema.String])))
})
export type NodeRecord = typeof NodeRecord.Type

export const RunStatus = Schema.Literals(["running", "succeeded", "failed", "interrupted"])
export type RunStatus = typeof RunStatus.Type

export const RunRecord = Schema.Struct({
  format: Schema.Literal("dpipe-run/1"),
  runId: Schema.String,
  pipeline: Schema.String,
  /** The pipeline's description when the run started. */
  description: Schema.optional(Schema.String),
  scale: Schema.String,
  settings: Schema.Record(Schema.String, Schema.Unknown),
  createdAt: Schema.String,
  updatedAt: Schema.String,
  status: RunStatus,
  nodes: Schema.Record(Schema.String, NodeRecord),
  /** Stage selection of `run --force/--only`: kept so that `resume` continues the same run. */
  forced: Schema.optional(Schema.Array(Schema.String)),
  cacheOnly: Schema.optional(Schema.Array(Schema.String)),
  /** The pipeline's privacy budget at this scale, known from the start (the dashboard's budget line). */
  budget: Schema.optional(Schema.Struct({ epsilon: Schema.Number, delta: Schema.Number })),
  /** Epsilon by each accountant at the run's delta, once known. */
  privacy: Schema.optional(Schema.Struct({
    delta: Schema.Number,
    budgetEpsilon: Schema.Number,
    epsilon: Schema.Record(Schema.String, Schema.Number)
  }))
})
export type RunRecord = typeof RunRecord.Type
