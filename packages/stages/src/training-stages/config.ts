/**
 * Config of the training stages, split as jax_privacy splits it: `TrainConfig` is
 * semantic (model shape, steps, sampling rate, clipping, noise, optimizer: it changes
 * the result and is keyed), `TrainPerf` holds performance flags (backend, workers,
 * micro-batch size, checkpoint interval: recorded, never keyed). Vocabulary size and
 * context length come from the data (tokenizer.json and the packed sequences).
 *
 * The DP execution plan (sampler, clip norm, noise multiplier, relation, event) is
 * derived from one TrainConfig by `executionPlan`, so the event the accountant sees is
 * the one the sampler and the noise actually implement (docs/privacy.md, P3).
 */
import { Effect, Schema } from "effect"
import { BackendName } from "@dpipe/engine/train/backend"
import { ModelConfig } from "@dpipe/engine/model/gemma"
import { dpSgdStepEvent, selfComposed, type DpEvent } from "@dpipe/accounting/events"
import { StabilitySettings } from "./stability.ts"

const Positive = Schema.Finite.check(Schema.isGreaterThan(0))
const PositiveInt = Schema.Int.check(Schema.isGreaterThan(0))
const withDefault = <S extends Schema.Top & { readonly Encoded: unknown }>(value: S["Encoded"]) => (s: S) => s.pipe(Schema.withDecodingDefaultKey(Effect.succeed(value)))

export const ModelShape = Schema.Struct({
  /** Expected vocabulary size; when set it must match the tokenizer (checked at run time). */
  vocabSize: Schema.optionalKey(PositiveInt),
  /** Expected context length; when set it must equal the sequence length - 1 (checked). */
  contextLength: Schema.optionalKey(PositiveInt),
  dModel: ModelConfig.fields.dModel,
  layers: ModelConfig.fields.layers,
  heads: ModelConfig.fields.heads,
  kvHeads: ModelConfig.fields.kvHeads,
  headDim: ModelConfig.fields.headDim,
  ffnDim: ModelConfig.fields.ffnDim,
  tiedEmbeddings: Schema.Boolean.pipe(withDefault(true)),
  ropeBase: Positive.pipe(withDefault(10000)),
  normEps: Positive.pipe(withDefault(1e-6))
})
export type ModelShape = typeof ModelShape.Type

export const OptimizerSettings = Schema.Struct({
  peakLr: Positive.pipe(withDefault(3e-3)),
  warmupSteps: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)).pipe(withDefault(10)),
  minLrRatio: Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: 1 })).pipe(withDefault(0.1)),
  beta1: Schema.Finite.pipe(withDefault(0.9)),
  beta2: Schema.Finite.pipe(withDefault(0.999)),
  eps: Positive.pipe(withDefault(1e-8)),
  weightDecay: Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0)).pipe(withDefault(0.01))
})

export const TrainConfig = Schema.Struct({
  model: ModelShape,
  /** Logical steps (each one Poisson batch, one noise draw). */
  steps: PositiveInt,
  /** Poisson sampling rate q in (0, 1]: each sequence joins a step's batch with probability q. */
  samplingRate: Schema.Finite.check(Schema.isGreaterThan(0), Schema.isLessThanOrEqualTo(1)),
  /** Per-example clipping norm C. */
  clipNorm: Positive,
  /** Noise multiplier sigma: noise std is sigma * C on the summed clipped gradient. */
  noiseMultiplier: Positive,
  /** Neighbouring relation of the guarantee (one sequence added/removed, or replaced). */
  neighbouring: Schema.Literals(["add_remove", "replace_one"]).pipe(withDefault("add_remove" as const)),
  /** Optional batch cap B (truncated Poisson, VaultGemma's fixed-size batches); needs `datasetSize`. */
  batchCap: Schema.optionalKey(PositiveInt),
  /**
   * The public dataset size N (docs/privacy.md, P11). Under add/remove neighbours the
   * actual number of sequences is itself private, so when N is declared it is the only N
   * in dp-labelled outputs (the execution plan, the statement) and in the normaliser
   * q*N; the sampler still runs over the actual sequences. Required with batchCap (the
   * truncated-Poisson event depends on N; there it must equal the actual size).
   */
  datasetSize: Schema.optionalKey(PositiveInt),
  optimizer: OptimizerSettings.pipe(withDefault({})),
  /** Seed of the public weight initialisation. */
  initSeed: Schema.Int.pipe(withDefault(0)),
  /** Loss-spike and divergence guard of DP training (./stability.ts; docs/privacy.md, P12). */
  stability: StabilitySettings.pipe(withDefault({}))
}).check(Schema.makeFilter((c) => samplingProblem(c)))
export type TrainConfig = typeof TrainConfig.Type

/**
 * Why a sampler's parameters are refused, or undefined: a batch cap (truncated Poisson)
 * needs the dataset size N, and a cap below the expected batch q*N is refused (docs/privacy.md,
 * A2). Training's config and `pipeline account` both check with this.
 */
export const samplingProblem = (c: {
  readonly samplingRate: number
  readonly datasetSize?: number | undefined
  readonly batchCap?: number | undefined
}): { readonly path: ReadonlyArray<"datasetSize" | "batchCap">; readonly issue: string } | undefined => {
  if (c.batchCap === undefined) return undefined
  if (c.datasetSize === undefined) return { path: ["datasetSize"], issue: "batchCap (truncated Poisson) needs the dataset size N the accountant assumes: set datasetSize" }
  const expected = c.samplingRate * c.datasetSize
  return c.batchCap < expected
    ? { path: ["batchCap"], issue: `the batch cap ${c.batchCap} is below the expected batch q*N = ${expected.toFixed(1)}: most steps would be truncated and the truncated-Poisson epsilon explodes (docs/privacy.md, A2); use a cap well above q*N` }
    : undefined
}

export const TrainPerf = Schema.Struct({
  backend: BackendName.pipe(withDefault("native" as const)),
  workers: PositiveInt.pipe(withDefault(1)),
  /** Compute gradients in a worker thread even with one worker (lets two trainers use two cores). */
  offThread: Schema.Boolean.pipe(withDefault(false)),
  microBatchSize: PositiveInt.pipe(withDefault(32)),
  /** Checkpoint (and ledger record) every this many steps. */
  checkpointEvery: PositiveInt.pipe(withDefault(25))
})
export type TrainPerf = typeof TrainPerf.Type

/** The DP event of one step of this config. */
export const stepEvent = (c: TrainConfig): DpEvent =>
  dpSgdStepEvent({ samplingRate: c.samplingRate, noiseMultiplier: c.noiseMultiplier, datasetSize: c.datasetSize, batchCap: c.batchCap, neighbouring: c.neighbouring })

/** The DP event of `steps` steps of this config (what the ledger records). */
export const trainingEvent = (c: TrainConfig, steps: number = c.steps): DpEvent => selfComposed(stepEvent(c), steps)

/** The execution plan, as recorded with the run and shown in the privacy statement. */
export const ExecutionPlan = Schema.Struct({
  unit: Schema.Literal("sequence"),
  sampler: Schema.Literals(["poisson", "truncated-poisson"]),
  samplingRate: Schema.Number,
  batchCap: Schema.optionalKey(Schema.Number),
  /**
   * The declared public N, absent when none was declared: the actual size is private
   * under add/remove and never written here (docs/privacy.md, P11).
   */
  datasetSize: Schema.optionalKey(Schema.Number),
  /** q * N with the public N; absent without one (it would reveal the actual N). */
  expectedBatchSize: Schema.optionalKey(Schema.Number),
  /** Which N divided the noised sum: the declared public one, or the actual one (none declared). */
  normaliser: Schema.optionalKey(Schema.Literals(["public-n", "actual-n"])),
  clipNorm: Schema.Number,
  noiseMultiplier: Schema.Number,
  noiseStd: Schema.Number,
  neighbouring: Schema.Literals(["add_remove", "replace_one"]),
  steps: Schema.Number,
  stepsDone: Schema.Number,
  event: Schema.Unknown
})
export type ExecutionPlan = typeof ExecutionPlan.Type
