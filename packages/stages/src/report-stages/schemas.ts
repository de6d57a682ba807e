/**
 * JSON schemas of the report stages: the privacy statement (output of
 * `privacy-statement`), the evaluation and memorization results the report reads (as
 * this package expects them from the eval stages; only the fields used here are
 * declared, extra fields are ignored on decode), and the report's summary.
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
    /** q * N. */
    expectedBatchSize: NonNegative,
    /** Truncation cap B (truncated Poisson only). */
    batchCap: Schema.optionalKey(Schema.Int),
    /** N, the number of training sequences. */
    datasetSize: NonNegativeInt
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
  /** One paragraph for humans. */
  text: Schema.String
})
export type PrivacyStatement = typeof PrivacyStatement.Type

// ---- evaluation (from the eval stage) -----------------------------------------------

export const ModelEvaluation = Schema.Struct({
  /** Mean next-token cross-entropy, nats per token. */
  loss: Schema.Number,
  perplexity: Schema.Number,
  /** Total nats / (ln 2 * bytes of text): comparable across tokenizers. */
  bitsPerByte: Schema.Number,
  tokens: Schema.optionalKey(Schema.Number),
  bytes: Schema.optionalKey(Schema.Number)
})
export type ModelEvaluation = typeof ModelEvaluation.Type

export const Evaluation = Schema.Struct({
  dp: ModelEvaluation,
  nonPrivate: ModelEvaluation,
  unigram: ModelEvaluation
})
export type Evaluation = typeof Evaluation.Type

// ---- memorization (from the memorization stage) -------------------------------------

/** Exposure (bits, Carlini et al. 2019) of one inserted canary. */
export const CanaryExposure = Schema.Struct({
  id: Schema.String,
  /** How many times the canary was inserted into the training data. */
  repetitions: Schema.Number,
  /** The secret text (private, untrusted: shown escaped). */
  secret: Schema.optionalKey(Schema.String),
  dp: Schema.Number,
  nonPrivate: Schema.Number
})
export type CanaryExposure = typeof CanaryExposure.Type

/** Mean exposure (bits) of the canaries inserted `repetitions` times. */
export const ExposureByRepetition = Schema.Struct({
  repetitions: Schema.Number,
  canaries: Schema.Number,
  dp: Schema.Number,
  nonPrivate: Schema.Number
})
export type ExposureByRepetition = typeof ExposureByRepetition.Type

/** Fraction of prompts whose greedy continuation reproduced the suffix. */
export const ExtractionRates = Schema.Struct({
  samples: Schema.Number,
  exact: Schema.Number,
  approximate: Schema.Number
})

/** One extraction test set (e.g. "training" sequences or "duplicated" content). */
export const Extraction = Schema.Struct({
  set: Schema.String,
  prefixTokens: Schema.optionalKey(Schema.Number),
  suffixTokens: Schema.optionalKey(Schema.Number),
  dp: ExtractionRates,
  nonPrivate: ExtractionRates
})
export type Extraction = typeof Extraction.Type

export const Memorization = Schema.Struct({
  /** log2 of the number of candidates: the largest exposure measurable. */
  maxExposure: Schema.optionalKey(Schema.Number),
  canaries: Schema.Array(CanaryExposure),
  byRepetition: Schema.Array(ExposureByRepetition),
  extraction: Schema.Array(Extraction)
})
export type Memorization = typeof Memorization.Type

// ---- report summary ---------------------------------------------------------------

const Maybe = Schema.NullOr(Finite)

export const ReportSummary = Schema.Struct({
  epsilon: NonNegative,
  delta: Finite,
  /** RDP's epsilon, null when RDP does not apply. */
  epsilonRdp: Maybe,
  steps: NonNegativeInt,
  evalLoss: Schema.Struct({ dp: Maybe, nonPrivate: Maybe, unigram: Maybe }),
  bitsPerByte: Schema.Struct({ dp: Maybe, nonPrivate: Maybe, unigram: Maybe }),
  /** Mean canary exposure in bits over all canaries, and over the most repeated ones. */
  exposure: Schema.Struct({
    dp: Maybe,
    nonPrivate: Maybe,
    mostRepeated: Schema.NullOr(Schema.Struct({ repetitions: Finite, dp: Maybe, nonPrivate: Maybe }))
  }),
  /** Exact extraction rate, pooled over the extraction sets. */
  extractionExact: Schema.Struct({ dp: Maybe, nonPrivate: Maybe }),
  /** Final training loss of each run (the last step's unnoised batch loss). */
  finalTrainLoss: Schema.Struct({ dp: Maybe, nonPrivate: Maybe })
})
export type ReportSummary = typeof ReportSummary.Type
