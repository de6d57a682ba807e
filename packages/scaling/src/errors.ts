/**
 * Typed errors of the scaling-law package. Each message names what is wrong and how to fix it.
 */
import { Schema } from "effect"

/** The sweep's observations or the fit options cannot produce a law. */
export class ScalingFitError extends Schema.TaggedError<ScalingFitError>()("ScalingFitError", {
  message: Schema.String
}) {}

/** A law file is missing, not JSON, or not a law this version reads. */
export class ScalingLawFileError extends Schema.TaggedError<ScalingLawFileError>()("ScalingLawFileError", {
  path: Schema.String,
  message: Schema.String
}) {}

/** The planner's inputs are out of range, or no configuration spends the budgets inside the law's grid. */
export class PlanError extends Schema.TaggedError<PlanError>()("PlanError", {
  message: Schema.String
}) {}
