/**
 * The default (`tiny`) recipe of vaultgemma-1b, chosen by the planner: `planTraining`
 * (@dpipe/scaling; McKenna et al. 2025, §4) on the law shipped beside this file
 * (mail-tiny.json, fitted by the dp-scaling pipeline), for
 *
 * - the privacy budget the pipeline declares: epsilon 8 at delta 1e-6;
 * - N = the tiny data's training sequences (the privacy units the sampler draws from);
 * - the compute the default run can spend on training here within its 10 minutes
 *   (TRAIN_SECONDS, leaving the rest for data, evaluation, memorization and load).
 *
 * Compute is time here, not FLOPs: the planner's C = 6 M B S T assumes time proportional
 * to M, but on this machine the micro model trains only 2x faster per token than tiny
 * (6 M predicts 3.5x) and small 0.38x (6 M: 0.20x), because per-step and per-example
 * costs do not shrink with M (`pnpm bench model-throughput`). So each model is planned
 * alone (the law restricted to it) at the compute it can spend in TRAIN_SECONDS,
 * C_m = 6 M_m x TOKENS_PER_SECOND x SPEED_VS_TINY[m] x TRAIN_SECONDS, and the recipe is
 * the model plan with the lowest predicted loss; every model's plan is kept in the file.
 *
 * The plan is kept in mail-tiny.recipe.json so that loading the pipeline does not run
 * the planner (its PLD refinement takes seconds); the file records the law's sha256 and
 * the request, `readTinyRecipe` refuses a recipe planned on another law, and a test
 * checks that planTraining on the shipped law reproduces it. Regenerate it after refitting
 * the law: `node pipelines/scaling-laws/tiny-recipe.ts`.
 *
 * The learning rate is not part of the plan (the law is the minimum over the sweep's
 * learning rates): DP_PEAK_LR and BASELINE_PEAK_LR are the two runs' peak rates, chosen by
 * runs on the tiny data (README, "The default recipe is the scaling-law planner's").
 */
import { Schema } from "effect"
import { createHash } from "node:crypto"
import { readFileSync, renameSync, writeFileSync } from "node:fs"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import type { ScalingLaw } from "@dpipe/scaling"

const here = dirname(fileURLToPath(import.meta.url))
export const LAW_FILE = join(here, "mail-tiny.json")
export const RECIPE_FILE = join(here, "mail-tiny.recipe.json")

/** Packed 65-token training sequences of the tiny data (SpamAssassin ham, held-out users removed). */
export const TINY_TRAIN_SEQUENCES = 47_808
/** Parameters of the tiny model (d 64, 2 layers, vocabulary 2048): M in C = 6 M B S T. */
export const TINY_MODEL_PARAMS = 262_272
/** DP-SGD tokens per second of one trainer on the tiny model here (native backend, load 6-8). */
export const TOKENS_PER_SECOND = 4_500
/** DP tokens/s of each sweep model relative to tiny, measured side by side (`pnpm bench model-throughput`). */
export const SPEED_VS_TINY: Readonly<Record<string, number>> = { micro: 2.0, tiny: 1, mini: 0.62, small: 0.38 }
/** Seconds of the 10-minute default run given to training (the two trainers run side by side). */
export const TRAIN_SECONDS = 390
/** Peak learning rate of the DP run: 2^-5, the sweep's larger rate. */
export const DP_PEAK_LR = 0.03125
/** Peak learning rate of the non-private baseline (its default 3e-3 undertrains it in a few hundred steps). */
export const BASELINE_PEAK_LR = 0.02

export const TINY_PLAN_REQUEST = {
  epsilon: 8,
  delta: 1e-6,
  datasetSize: TINY_TRAIN_SEQUENCES,
  trainSeconds: TRAIN_SECONDS,
  tokensPerSecond: TOKENS_PER_SECOND
} as const

/** The compute model `params` can spend in TRAIN_SECONDS here (see the header). */
export const affordableFlops = (model: string, params: number): number => {
  const speed = SPEED_VS_TINY[model]
  if (speed === undefined) throw new Error(`no measured speed for model ${model}: add it to SPEED_VS_TINY (pnpm bench model-throughput)`)
  return 6 * params * TOKENS_PER_SECOND * speed * TRAIN_SECONDS
}

const PlanSchema = Schema.Struct({
  model: Schema.String,
  modelConfig: Schema.Record(Schema.String, Schema.Finite),
  params: Schema.Finite,
  expectedBatchSize: Schema.Finite,
  steps: Schema.Int,
  samplingRate: Schema.Finite,
  noiseMultiplier: Schema.Finite,
  noiseBatchRatio: Schema.Finite,
  predictedLoss: Schema.Finite,
  computeFlops: Schema.Finite,
  epsilon: Schema.Finite,
  accountant: Schema.Literals(["pld", "rdp"])
})

export const TinyRecipe = Schema.Struct({
  format: Schema.Literal("dpipe.tiny-recipe/1"),
  /** The law file (relative to this directory) and the sha256 of its bytes. */
  law: Schema.String,
  lawSha256: Schema.String,
  request: Schema.Struct({ epsilon: Schema.Finite, delta: Schema.Finite, datasetSize: Schema.Int, trainSeconds: Schema.Finite, tokensPerSecond: Schema.Finite }),
  plan: PlanSchema,
  /** Every model's own best plan at its affordable compute, lowest predicted loss first. */
  perModel: Schema.Array(PlanSchema)
})
export type TinyRecipe = typeof TinyRecipe.Type


const sha256 = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex")

/** The shipped recipe; throws (naming the fix) when it is missing, malformed or planned on another law. */
export const readTinyRecipe = (): TinyRecipe => {
  const recipe = Schema.decodeUnknownSync(TinyRecipe)(JSON.parse(readFileSync(RECIPE_FILE, "utf8")))
  const actual = sha256(readFileSync(resolve(here, recipe.law)))
  if (actual !== recipe.lawSha256) {
    throw new Error(`${RECIPE_FILE} was planned on another version of ${recipe.law} (sha256 ${recipe.lawSha256.slice(0, 12)}, now ${actual.slice(0, 12)}): run node pipelines/scaling-laws/tiny-recipe.ts to replan`)
  }
  return recipe
}

/** The law restricted to model `i` (its slice of the grid): the planner then proposes that model only. */
export const restrictLaw = (law: ScalingLaw, i: number): ScalingLaw => {
  const nT = law.grid.logSteps.length
  const nS = law.grid.logNoiseBatchRatio.length
  const m = law.models[i]!
  const { parametric: _parametric, ...rest } = law
  return {
    ...rest,
    models: [m],
    grid: { ...law.grid, logParams: [law.grid.logParams[i]!], logLoss: law.grid.logLoss.slice(i * nT * nS, (i + 1) * nT * nS) },
    ...(law.nonPrivate === undefined ? {} : { nonPrivate: { logLoss: law.nonPrivate.logLoss.slice(i * nT, (i + 1) * nT) } }),
    convergence: law.convergence.filter((c) => c.model === m.name)
  }
}

/** The planner calls behind the recipe (also run by the test that checks the shipped file). */
export const planTinyRecipe = async (lawPath: string = LAW_FILE): Promise<TinyRecipe> => {
  const { parseLaw, planTraining } = await import("@dpipe/scaling")
  const bytes = readFileSync(lawPath)
  const law = parseLaw(new TextDecoder().decode(bytes), lawPath)
  if (law._tag === "Failure") throw new Error(law.failure.message)
  const perModel = law.success.models
    .flatMap((m, i) => {
      try {
        const best = planTraining(restrictLaw(law.success, i), { epsilon: TINY_PLAN_REQUEST.epsilon, delta: TINY_PLAN_REQUEST.delta, datasetSize: TINY_PLAN_REQUEST.datasetSize, computeFlops: affordableFlops(m.name, m.params) }).best
        return [{
          model: best.model,
          modelConfig: best.modelConfig,
          params: best.params,
          expectedBatchSize: best.expectedBatchSize,
          steps: best.steps,
          samplingRate: best.samplingRate,
          noiseMultiplier: best.noiseMultiplier,
          noiseBatchRatio: best.noiseBatchRatio,
          predictedLoss: best.predictedLoss,
          computeFlops: best.computeFlops,
          epsilon: best.epsilon,
          accountant: best.accountant
        }]
      } catch (e) {
        // A model with no plan inside the law's grid at its compute is not a candidate.
        if (e instanceof Error && "_tag" in e && e._tag === "PlanError") return []
        throw e
      }
    })
    .sort((a, b) => a.predictedLoss - b.predictedLoss)
  const plan = perModel[0]
  if (plan === undefined) throw new Error(`no model of ${lawPath} has a plan inside the law's grid at its affordable compute`)
  return {
    format: "dpipe.tiny-recipe/1",
    law: lawPath.startsWith(here) ? lawPath.slice(here.length + 1) : lawPath,
    lawSha256: sha256(bytes),
    request: TINY_PLAN_REQUEST,
    plan,
    perModel
  }
}

if (import.meta.main) {
  const recipe = await planTinyRecipe(process.argv[2] ?? LAW_FILE)
  const tmp = `${RECIPE_FILE}.tmp-${process.pid}`
  writeFileSync(tmp, `${JSON.stringify(Schema.encodeSync(TinyRecipe)(recipe), null, 1)}\n`)
  renameSync(tmp, RECIPE_FILE)
  console.log(JSON.stringify(recipe.plan))
}
