/**
 * vaultgemma-1b: the VaultGemma recipe (sequence-level DP-SGD pretraining) at a scale
 * this machine can carry, with a non-private baseline trained on the same data and
 * compute, evaluation, memorization tests, a privacy statement and a report.
 *
 *   corpus (private mail) -> split (by user) ----------------------------\
 *   public-corpus -> tokenizer (BPE on public text only) ---------------> pack (+ canaries)
 *   pack -> dp-train (DP-SGD: Poisson q, clip C, noise sigma; ledger)   -> evaluate, memorization
 *        -> baseline (same model, data and steps; no clipping, no noise) ->
 *   dp-train.plan -> privacy-statement;  everything -> report.html
 *
 * Scales: micro (seconds, for tests), tiny (the default: the whole run in minutes here;
 * model, expected batch, steps and sigma chosen by the scaling-law planner, see
 * scaling-laws/tiny-recipe.ts),
 * small (about an hour here), 1b (VaultGemma 1B's published configuration: `plan`
 * shows its compute and privacy cost; `run` refuses without a GPU backend).
 *
 * Parameters: the training settings both trainers read (model, steps, samplingRate, ...)
 * are the pipeline's parameters: `--set params.steps=120` changes the DP run and the
 * baseline together and recalibrates sigma; `--set dp-train.steps=120` changes one node,
 * and `plan` warns that the DP run and its baseline no longer match.
 *
 * Privacy: tiny/small/micro are budgeted at epsilon 8, delta 1e-6 (delta below 1/N)
 * and sigma is calibrated to that budget by PLD for each scale's q and steps; 1b is budgeted
 * at VaultGemma's epsilon 2.0, delta 1.1e-10 with its published sigma 0.614, 100,000
 * steps and expected batch 518,144 sequences, at an assumed 1.27e10 training sequences.
 */
import { Schema } from "effect"
import { Params, Pipeline, settingsFor } from "@dpipe/dsl"
import type { Settings } from "@dpipe/dsl"
import { BASELINE_PEAK_LR, DP_PEAK_LR, readTinyRecipe } from "./scaling-laws/tiny-recipe.ts"
import { addDataStages, calibrateSigmaByPld, dataScales, dataSettings, defaultAccountants, dpTrain, evaluate, memorization, privacyStatement, report, train } from "@dpipe/stages"

const BUDGET = { epsilon: 8, delta: 1e-6 }
const BUDGET_1B = { epsilon: 2.0, delta: 1.1e-10 }

/** Training settings of one scale, applied to both the DP run and the baseline. */
const trainingScale = (s: {
  readonly model: Record<string, number | boolean>
  readonly steps: number
  readonly samplingRate: number
  readonly noiseMultiplier?: number
  readonly datasetSize?: number
  readonly peakLr?: number
  /** DP-SGD's noisy gradients want a larger step than the baseline's (tuned on the tiny scale). */
  readonly dpPeakLr?: number
  readonly warmupSteps?: number
}): Settings => {
  // Sigma is calibrated to the budget unless given, by the authoritative PLD accountant
  // (the smallest sigma, to 0.1%, whose PLD epsilon is within the budget), cached by its
  // inputs so that loading the pipeline stays fast (calibration-cache.ts).
  const sigma = s.noiseMultiplier ?? calibrateSigmaByPld({ samplingRate: s.samplingRate, steps: s.steps, epsilon: BUDGET.epsilon, delta: BUDGET.delta, relTol: 1e-3 })
  const out: Record<string, unknown> = {}
  for (const node of ["dp-train", "baseline"]) {
    out[`${node}.model`] = s.model
    out[`${node}.steps`] = s.steps
    out[`${node}.samplingRate`] = s.samplingRate
    out[`${node}.noiseMultiplier`] = sigma
    if (s.datasetSize !== undefined) out[`${node}.datasetSize`] = s.datasetSize
    const lr = node === "dp-train" ? s.dpPeakLr ?? s.peakLr : s.peakLr
    if (lr !== undefined) out[`${node}.optimizer.peakLr`] = lr
    if (s.warmupSteps !== undefined) out[`${node}.optimizer.warmupSteps`] = s.warmupSteps
  }
  return out
}

/** The parameters of trainingScale, as the pipeline's parameters (`--set params.steps=120`, `params.model.dModel=96`). */
const TrainingParams = Schema.Struct({
  model: Schema.Record(Schema.String, Schema.Union([Schema.Finite, Schema.Boolean])),
  steps: Schema.Int.check(Schema.isGreaterThan(0)),
  samplingRate: Schema.Finite.check(Schema.isGreaterThan(0), Schema.isLessThanOrEqualTo(1)),
  noiseMultiplier: Schema.optionalKey(Schema.Finite.check(Schema.isGreaterThan(0))),
  datasetSize: Schema.optionalKey(Schema.Finite.check(Schema.isGreaterThan(0))),
  peakLr: Schema.optionalKey(Schema.Finite.check(Schema.isGreaterThan(0))),
  dpPeakLr: Schema.optionalKey(Schema.Finite.check(Schema.isGreaterThan(0))),
  warmupSteps: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)))
})

/** Both trainers' settings and sigma derive from these; scale presets set them with training.preset({...}). */
const training = Params.make({
  schema: TrainingParams,
  defaults: { model: { dModel: 64, layers: 2, heads: 4, kvHeads: 4, headDim: 16, ffnDim: 256 }, steps: 150, samplingRate: 0.0015 },
  derive: trainingScale
})

const microModel = { dModel: 32, layers: 1, heads: 2, kvHeads: 1, headDim: 16, ffnDim: 64 }
const tinyModel = { dModel: 64, layers: 2, heads: 4, kvHeads: 4, headDim: 16, ffnDim: 256 }
const smallModel = { dModel: 128, layers: 4, heads: 4, kvHeads: 4, headDim: 32, ffnDim: 512 }
/** VaultGemma 1B: 26 layers, d_model 1152, 4 query heads of dim 256, GeGLU 6912, vocab 256000, context 1024. */
const vaultGemmaModel = { vocabSize: 256000, contextLength: 1024, dModel: 1152, layers: 26, heads: 4, kvHeads: 4, headDim: 256, ffnDim: 6912 }

/**
 * The default recipe: planTraining on the shipped law (scaling-laws/mail-tiny.json) for the
 * compute a 10-minute run can spend here and the declared budget (scaling-laws/tiny-recipe.ts).
 */
const tinyRecipe = readTinyRecipe().plan

export const scales: Record<string, Settings> = {
  micro: {
    ...dataScales.micro,
    ...dataSettings({ pack: { canaries: { count: 3, repeats: 4 } } }),
    ...training.preset({ model: microModel, steps: 20, samplingRate: 0.0015, warmupSteps: 2, dpPeakLr: 0.01 })
  },
  tiny: {
    ...dataScales.tiny,
    // Canaries need copies to be learnable at all: the plan's steps see each sequence about B T / N times.
    ...dataSettings({ tokenizer: { vocabSize: 2048 }, pack: { seqLen: 65, canaries: { repeats: 16 } } }),
    ...training.preset({
      model: tinyRecipe.modelConfig,
      steps: tinyRecipe.steps,
      samplingRate: tinyRecipe.samplingRate,
      noiseMultiplier: tinyRecipe.noiseMultiplier,
      warmupSteps: Math.max(1, Math.round(tinyRecipe.steps * 0.05)),
      peakLr: BASELINE_PEAK_LR,
      dpPeakLr: DP_PEAK_LR
    }),
    "report.predictedLoss": { dp: tinyRecipe.predictedLoss, source: `planTraining on pipelines/scaling-laws/mail-tiny.json (${tinyRecipe.model}, B ${tinyRecipe.expectedBatchSize}, T ${tinyRecipe.steps}, sigma ${tinyRecipe.noiseMultiplier.toPrecision(4)})` }
  },
  small: {
    ...dataScales.tiny,
    ...dataSettings({ tokenizer: { vocabSize: 4096 }, pack: { seqLen: 129 } }),
    ...training.preset({ model: smallModel, steps: 1000, samplingRate: 0.004, warmupSteps: 50, dpPeakLr: 0.01 })
  },
  "1b": {
    ...dataScales.tiny,
    ...dataSettings({ tokenizer: { vocabSize: 256000 }, pack: { seqLen: 1025 } }),
    ...training.preset({ model: vaultGemmaModel, steps: 100_000, samplingRate: 518_144 / 1.27e10, noiseMultiplier: 0.614, datasetSize: 1.27e10 }),
    ...settingsFor({ "privacy-statement": privacyStatement })({ "privacy-statement": { delta: BUDGET_1B.delta, budgetEpsilon: BUDGET_1B.epsilon } })
  }
}

export default Pipeline.make(
  "vaultgemma-1b",
  {
    description: "VaultGemma's DP pretraining recipe: private mail, public BPE, DP-SGD vs non-private baseline, evaluation, memorization, privacy statement",
    scales,
    defaultScale: "tiny",
    privacy: { budget: BUDGET, scaleBudgets: { "1b": BUDGET_1B }, accountants: defaultAccountants },
    params: training,
    // The baseline is the DP run's non-private twin: it answers "what does privacy cost" only on the same model, data and steps.
    matching: [{
      nodes: ["dp-train", "baseline"],
      fields: ["model", "steps", "samplingRate", "batchCap", "datasetSize", "initSeed", "optimizer.warmupSteps"],
      why: "the baseline is the DP run's non-private twin: same model, data, steps and batch"
    }],
    concurrency: 2
  },
  (b) => {
    const data = addDataStages(b)
    const common = { model: tinyModel, steps: 150, samplingRate: 0.0015, clipNorm: 1, noiseMultiplier: 1 }
    const inputs = { sequences: data.pack.out.train_sequences, tokenizer: data.tokenizer.out.tokenizer }
    // Each trainer computes in its own worker thread: the DP run and the baseline use both cores.
    const dp = b.add("dp-train", dpTrain, { config: common, perf: { offThread: true }, inputs })
    const base = b.add("baseline", train, { config: common, perf: { offThread: true }, inputs })
    const models = { dp_weights: dp.out.weights, dp_model: dp.out.model, baseline_weights: base.out.weights, baseline_model: base.out.model }
    const ev = b.add("evaluate", evaluate, {
      config: { maxSequences: 512 },
      inputs: { eval_sequences: data.pack.out.eval_sequences, train_sequences: data.pack.out.train_sequences, tokenizer: data.tokenizer.out.tokenizer, ...models }
    })
    const mem = b.add("memorization", memorization, {
      config: { candidates: 200, extraction: { sampleSize: 32, prefixTokens: 32, suffixTokens: 32, maxDuplicated: 32 } },
      inputs: { train_sequences: data.pack.out.train_sequences, canaries: data.pack.out.canaries, canary_info: data.pack.out.canary_info, tokenizer: data.tokenizer.out.tokenizer, ...models }
    })
    const st = b.add("privacy-statement", privacyStatement, { config: { delta: BUDGET.delta, budgetEpsilon: BUDGET.epsilon }, inputs: { plan: dp.out.plan, model: dp.out.model } })
    const rep = b.add("report", report, {
      config: { title: "vaultgemma-1b: DP pretraining report" },
      inputs: { statement: st.out.statement, dpMetrics: dp.out.metrics, baselineMetrics: base.out.metrics, evaluation: ev.out.evaluation, memorization: mem.out.memorization }
    })
    return { publish: { "report.html": rep.out.report }, summary: rep.out.summary }
  }
)
