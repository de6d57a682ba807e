/**
 * JSON schemas of the report stages: the privacy statement (output of
 * `privacy-statement`) and the report's summary. The evaluation and memorization
 * inputs use the eval stages' own schemas (eval-stages/tables.ts), so their outputs
 * wire into the report as they are.
 *
 * Numbers in outputs are `Finite`: JSON has no NaN or Infinity, so a non-finite value
 * fails at encode time instead of turning into `null` silently.
 */
import { Schema } from "effect"

const Finite = Schema.Finite
const NonNegative = Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0))
const NonNegativeInt = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))
const Rate = Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: 1 }))

// ---- privacy statement ------------------------------------------------------------

/** The RDP cross-check: its epsilon at the best order, or why RDP does not apply. */
export const RdpResult = Schema.Union([
  Schema.TaggedStruct("Computed", { epsilon: NonNegative, order: Finite }),
  Schema.TaggedStruct("Omitted", { reason: Schema.String })
])
export type RdpResult = typeof RdpResult.Type

/**
 * A one-run privacy audit (Steinke, Nasr and Jagielski 2023; audit-stages/one-run-audit.ts):
 * the empirical lower bound on epsilon next to the accountant's upper bound at the same delta.
 */
export const PrivacyAudit = Schema.Struct({
  method: Schema.Literal("one-run"),
  /** White-box: the auditor sees every step's privatized gradient; black-box: only the final model. */
  setting: Schema.Literals(["white-box", "black-box"]),
  /** What a canary is, in words. */
  canary: Schema.String,
  /** Whether the audited training was DP-SGD or the non-private baseline. */
  training: Schema.Literals(["dp", "non-private"]),
  canaries: NonNegativeInt,
  included: NonNegativeInt,
  guessesIn: NonNegativeInt,
  guessesOut: NonNegativeInt,
  correct: NonNegativeInt,
  confidence: Rate,
  delta: Schema.Finite.check(Schema.isGreaterThan(0), Schema.isLessThan(1)),
  epsilonLowerBound: NonNegative,
  /** The accountant's (PLD) epsilon of the audited run at the same delta; null for the non-private run. */
  epsilonUpperBound: Schema.NullOr(NonNegative),
  text: Schema.String
})
export type PrivacyAudit = typeof PrivacyAudit.Type

export const PrivacyStatement = Schema.Struct({
  /** The privacy unit: one packed training sequence. */
  unit: Schema.Literal("sequence"),
  /** Tokens per training sequence (the model's context length + 1). */
  sequenceTokens: Schema.Int.check(Schema.isGreaterThan(0)),
  neighbouring: Schema.Literals(["add_remove", "replace_one"]),
  sampling: Schema.Struct({
    method: Schema.Literals(["poisson", "truncated-poisson"]),
    /** Poisson rate q. */
    samplingRate: Rate,
    /** q * N with the declared public N; absent when none was declared (docs/privacy.md, P11). */
    expectedBatchSize: Schema.optionalKey(NonNegative),
    /** Truncation cap B (truncated Poisson only). */
    batchCap: Schema.optionalKey(Schema.Int),
    /** The declared public N; absent when none was declared (the actual N is private). */
    datasetSize: Schema.optionalKey(NonNegativeInt)
  }),
  /** sigma. */
  noiseMultiplier: NonNegative,
  /** C. */
  clipNorm: NonNegative,
  /** sigma * C. */
  noiseStd: NonNegative,
  /** Steps actually run (the accounted event's count). */
  steps: NonNegativeInt,
  /** Steps the config asked for (fewer ran when the budget stopped training). */
  plannedSteps: NonNegativeInt,
  delta: Schema.Finite.check(Schema.isGreaterThan(0), Schema.isLessThan(1)),
  /** The authoritative epsilon (PLD). */
  epsilon: NonNegative,
  accountant: Schema.Literal("pld"),
  pld: Schema.Struct({ epsilon: NonNegative }),
  rdp: RdpResult,
  /** The pipeline's declared budget, when the stage was told it. */
  budget: Schema.optionalKey(Schema.Struct({ epsilon: NonNegative, withinBudget: Schema.Boolean })),
  /** The DP event the epsilon was computed from (accountant JSON encoding). */
  event: Schema.Unknown,
  /** An empirical lower bound from a one-run audit of this mechanism, when one was run. */
  audit: Schema.optionalKey(PrivacyAudit),
  /** One paragraph for humans. */
  text: Schema.String
})
export type PrivacyStatement = typeof PrivacyStatement.Type

// ---- report summary ---------------------------------------------------------------

const Maybe = Schema.NullOr(Finite)

export const ReportSummary = Schema.Struct({
  epsilon: NonNegative,
  delta: Finite,
  /** RDP's epsilon, null when RDP does not apply. */
  epsilonRdp: Maybe,
  steps: NonNegativeInt,
  evalLoss: Schema.Struct({ dp: Maybe, nonPrivate: Maybe, unigram: Maybe }),
  /** The planner's predicted held-out loss of the DP model, beside `evalLoss.dp` (null when the recipe was not planned). */
  predictedLoss: Schema.Struct({ dp: Maybe }),
  bitsPerByte: Schema.Struct({ dp: Maybe, nonPrivate: Maybe, unigram: Maybe }),
  /** Mean canary exposure in bits over all canaries, and over the most repeated ones. */
  exposure: Schema.Struct({
    dp: Maybe,
    nonPrivate: Maybe,
    /** The largest exposure the estimator can report, log2(M + 1). */
    maxMeasurable: Maybe,
    mostRepeated: Schema.NullOr(Schema.Struct({ repeats: Finite, dp: Maybe, nonPrivate: Maybe }))
  }),
  /** Exact extraction rates (sampled training sequences; duplicated content). */
  extractionExact: Schema.Struct({
    sampled: Schema.Struct({ dp: Maybe, nonPrivate: Maybe }),
    duplicated: Schema.Struct({ dp: Maybe, nonPrivate: Maybe })
  }),
  /** Final training loss of each run (the last step's unnoised batch loss). */
  finalTrainLoss: Schema.Struct({ dp: Maybe, nonPrivate: Maybe }),
  /** The DP run's stability guard (docs/privacy.md, P12): probe-loss spikes, rollbacks, executed steps a rollback discarded. */
  stability: Schema.Struct({ spikes: NonNegativeInt, rollbacks: NonNegativeInt, discardedSteps: NonNegativeInt })
})
export type ReportSummary = typeof ReportSummary.Type
