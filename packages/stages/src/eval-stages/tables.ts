/**
 * Output schemas of the evaluation stages. Everything here is computed from private
 * data (held-out users' sequences, training sequences, canary secrets) without noise,
 * so every output is labelled private (docs/privacy.md, P6): a report shows it only with
 * that label.
 */
import { Effect, Schema } from "effect"
import { Col, makeTable } from "@dpipe/dsl"
import { BackendName } from "@dpipe/engine/train/backend"

const PositiveInt = Schema.Int.check(Schema.isGreaterThan(0))
const withDefault = <S extends Schema.Top & { readonly Encoded: unknown }>(value: S["Encoded"]) => (s: S) => s.pipe(Schema.withDecodingDefaultKey(Effect.succeed(value)))

/** Performance flags of both evaluation stages (recorded, never keyed). */
export const EvalPerf = Schema.Struct({
  backend: BackendName.pipe(withDefault("native" as const)),
  /** Sequences per forward pass. */
  microBatchSize: PositiveInt.pipe(withDefault(32))
})
export type EvalPerf = typeof EvalPerf.Type

// ---------------------------------------------------------------------------
// evaluate
// ---------------------------------------------------------------------------

export const EvaluateConfig = Schema.Struct({
  /** Evaluate at most N eval sequences, evenly spaced over the table (all when absent). */
  maxSequences: Schema.optionalKey(PositiveInt)
})
export type EvaluateConfig = typeof EvaluateConfig.Type

/** Held-out metrics of one model. */
export const ModelEvaluation = Schema.Struct({
  /** How the model was obtained and the label of the model itself (not of this metric). */
  description: Schema.String,
  modelLabel: Schema.Literals(["dp", "private"]),
  /** Mean loss per scored token, in nats. */
  meanLoss: Schema.Finite,
  perplexity: Schema.Number,
  bitsPerToken: Schema.Finite,
  /** Total nats / ln 2 / total UTF-8 bytes of the scored tokens. */
  bitsPerByte: Schema.Finite,
  totalNats: Schema.Finite,
  tokens: Schema.Int,
  bytes: Schema.Int
})
export type ModelEvaluation = typeof ModelEvaluation.Type

export const Evaluation = Schema.Struct({
  label: Schema.Literal("private"),
  note: Schema.String,
  /** Eval sequences scored (of `availableSequences`), and their length. */
  sequences: Schema.Int,
  availableSequences: Schema.Int,
  seqLen: Schema.Int,
  /** What is scored: every target position (1..S-1) whose token is not <pad>; <eos> targets count (0 bytes). */
  scoring: Schema.String,
  models: Schema.Struct({
    dp: ModelEvaluation,
    nonPrivate: ModelEvaluation,
    unigram: ModelEvaluation
  }),
  unigram: Schema.Struct({
    smoothing: Schema.Literal("add-one"),
    trainTokens: Schema.Int,
    vocabSize: Schema.Int
  })
})
export type Evaluation = typeof Evaluation.Type

// ---------------------------------------------------------------------------
// memorization
// ---------------------------------------------------------------------------

export const ExtractionSettings = Schema.Struct({
  /** Training sequences sampled (keyed) for the extraction test. */
  sampleSize: PositiveInt.pipe(withDefault(64)),
  /** Prompt tokens (default: half the sequence; VaultGemma: 50). */
  prefixTokens: Schema.optionalKey(PositiveInt),
  /** Tokens decoded and compared (default: the rest of the sequence; VaultGemma: 50). */
  suffixTokens: Schema.optionalKey(PositiveInt),
  /** Approximate match: normalized token edit distance at most this (VaultGemma: 10%). */
  editThreshold: Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: 1 })).pipe(withDefault(0.1)),
  /** At most this many duplicated-content sequences (canary and repeated sequences). */
  maxDuplicated: PositiveInt.pipe(withDefault(64))
})

export const MemorizationConfig = Schema.Struct({
  /** Random candidate secrets M of the canary format (the exposure estimate's resolution is log2(M+1) bits). */
  candidates: Schema.Int.check(Schema.makeFilter((n) => (n >= 2 ? undefined : `must be an integer >= 2 (the normal fit needs a spread; 100 to 1000 is usual), got ${n}`))).pipe(withDefault(100)),
  extraction: ExtractionSettings.pipe(withDefault({}))
})
export type MemorizationConfig = typeof MemorizationConfig.Type

/** Exposure aggregated over the canaries inserted `repeats` times. */
export const ExposureGroup = Schema.Struct({
  repeats: Schema.Int,
  canaries: Schema.Int,
  meanExposure: Schema.Finite,
  maxExposure: Schema.Finite,
  meanExposureNormalFit: Schema.Number,
  meanRank: Schema.Finite,
  /** Canaries whose secret greedy decoding reproduced exactly from the canary prefix in a training context. */
  secretsExtracted: Schema.Int
})

export const ModelExposure = Schema.Struct({
  meanExposure: Schema.Number,
  byRepeats: Schema.Array(ExposureGroup)
})

export const MatchCounts = Schema.Struct({
  attempts: Schema.Int,
  exact: Schema.Int,
  approximate: Schema.Int,
  exactRate: Schema.Number,
  approximateRate: Schema.Number
})
export type MatchCounts = typeof MatchCounts.Type

export const ByModel = <S extends Schema.Top>(s: S) => Schema.Struct({ dp: s, nonPrivate: s })

export const Memorization = Schema.Struct({
  label: Schema.Literal("private"),
  note: Schema.String,
  canaries: Schema.Struct({
    count: Schema.Int,
    candidates: Schema.Int,
    secretSpaceSize: Schema.Number,
    /** The largest exposure the rank estimator can report: log2(M + 1). */
    maxMeasurableExposure: Schema.Number,
    /** log2 |R|: the exposure of a perfectly memorized secret. */
    log2SecretSpace: Schema.Number,
    estimator: Schema.String,
    models: ByModel(ModelExposure)
  }),
  extraction: Schema.Struct({
    prefixTokens: Schema.Int,
    suffixTokens: Schema.Int,
    editThreshold: Schema.Number,
    method: Schema.String,
    sampled: Schema.Struct({ sequences: Schema.Int, models: ByModel(MatchCounts) }),
    duplicated: Schema.Struct({
      sequences: Schema.Int,
      canarySequences: Schema.Int,
      repeatedSequences: Schema.Int,
      models: ByModel(MatchCounts)
    }),
    canarySecrets: Schema.Struct({
      attempts: Schema.Int,
      method: Schema.String,
      models: ByModel(MatchCounts)
    })
  })
})
export type Memorization = typeof Memorization.Type

/** One canary scored by one model (private: computed with the secrets). */
export const CanaryExposure = makeTable("canary-exposure", {
  model: Col.utf8,
  canary_id: Col.int32,
  repeats: Col.int32,
  /** Copies found whole inside one training sequence (where greedy extraction was tried). */
  copies_in_sequences: Col.int32,
  /** Log-perplexity of the secret's tokens given "\n" + prefix, in nats. */
  log_perplexity: Col.float64,
  rank: Col.int32,
  candidates: Col.int32,
  exposure: Col.float64,
  exposure_normal_fit: Col.float64,
  /** Greedy decoding from a training context up to the prefix reproduced the secret. */
  extracted: Col.bool
})
export type CanaryExposureRow = typeof CanaryExposure.row.Type
