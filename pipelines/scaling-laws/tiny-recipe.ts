/**
 * The default (`tiny`) recipe of vaultgemma-1b, chosen by the planner: `planTraining`
 * (@dpipe/scaling; McKenna et al. 2025, §4) on the law shipped beside this file
 * (mail-tiny.json, fitted by the dp-scaling pipeline), for
 *
 * - the privacy budget the pipeline declares: epsilon 8 at delta 1e-6;
 * - N = the tiny data's training sequences (the privacy units the sampler draws from);
 * - compute C = 6 M_tiny x (tokens one trainer processes in TRAIN_SECONDS at
 *   TOKENS_PER_SECOND): what the default run can spend on training here within its
 *   10 minutes, leaving the rest for data, evaluation, memorization and load.
 *
 * The plan is kept in mail-tiny.recipe.json so that loading the pipeline does not run
 * the planner (its PLD refinement takes seconds); the file records the law's sha256 and
 * the request, `readTinyRecipe` refuses a recipe planned on another law, and a test
 * checks that planTraining on the shipped law reproduces it. Regenerate it after refitting
 * the law: `node pipelines/scaling-laws/tiny-recipe.ts`.
 *
 * The learning rate is not part of the plan (the law is the minimum over the sweep's
 * learning rates); DP_PEAK_LR is the DP run's peak rate, chosen on the tiny data.
 */
import { Schema } from "effect"
import { createHash } from "node:crypto"
import { readFileSync, renameSync, writeFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const here = dirname(fileURLToPath(import.meta.url))
export const LAW_FILE = join(here, "mail-tiny.json")
export const RECIPE_FILE = join(here, "mail-tiny.recipe.json")

/** Packed 65-token training sequences of the tiny data (SpamAssassin ham, held-out users removed). */
export const TINY_TRAIN_SEQUENCES = 47_808
/** Parameters of the tiny model (d 64, 2 layers, vocabulary 2048): M in C = 6 M B S T. */
export const TINY_MODEL_PARAMS = 262_272
/** DP-SGD tokens per second of one trainer on the tiny model here (native backend, load 6-8). */
export const TOKENS_PER_SECOND = 4_500
/** Seconds of the 10-minute default run given to training (the two trainers run side by side). */
export const TRAIN_SECONDS = 390
/** Peak learning rate of the DP run (the baseline keeps its default). */
export const DP_PEAK_LR = 0.01

export const TINY_PLAN_REQUEST = {
  computeFlops: 6 * TINY_MODEL_PARAMS * TOKENS_PER_SECOND * TRAIN_SECONDS,
  epsilon: 8,
  delta: 1e-6,
  datasetSize: TINY_TRAIN_SEQUENCES
} as const

export const TinyRecipe = Schema.Struct({
  format: Schema.Literal("dpipe.tiny-recipe/1"),
  /** The law file (relative to this directory) and the sha256 of its bytes. */
  law: Schema.String,
  lawSha256: Schema.String,
  request: Schema.Struct({ computeFlops: Schema.Finite, epsilon: Schema.Finite, delta: Schema.Finite, datasetSize: Schema.Int }),
  plan: Schema.Struct({
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
})
export type TinyRecipe = typeof TinyRecipe.Type

const sha256 = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex")

/** The shipped recipe; throws (naming the fix) when it is missing, malformed or planned on another law. */
export const readTinyRecipe = (): TinyRecipe => {
  const recipe = Schema.decodeUnknownSync(TinyRecipe)(JSON.parse(readFileSync(RECIPE_FILE, "utf8")))
  const actual = sha256(readFileSync(join(here, recipe.law)))
  if (actual !== recipe.lawSha256) {
    throw new Error(`${RECIPE_FILE} was planned on another version of ${recipe.law} (sha256 ${recipe.lawSha256.slice(0, 12)}, now ${actual.slice(0, 12)}): run node pipelines/scaling-laws/tiny-recipe.ts to replan`)
  }
  return recipe
}

/** The planner call behind the recipe (also run by the test that checks the shipped file). */
export const planTinyRecipe = async (lawPath: string = LAW_FILE): Promise<TinyRecipe> => {
  const { parseLaw, planTraining } = await import("@dpipe/scaling")
  const bytes = readFileSync(lawPath)
  const law = parseLaw(new TextDecoder().decode(bytes), lawPath)
  if (law._tag === "Failure") throw new Error(law.failure.message)
  const best = planTraining(law.success, TINY_PLAN_REQUEST).best
  return {
    format: "dpipe.tiny-recipe/1",
    law: lawPath.startsWith(here) ? lawPath.slice(here.length + 1) : lawPath,
    lawSha256: sha256(bytes),
    request: TINY_PLAN_REQUEST,
    plan: {
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
    }
  }
}

if (import.meta.main) {
  const recipe = await planTinyRecipe(process.argv[2] ?? LAW_FILE)
  const tmp = `${RECIPE_FILE}.tmp-${process.pid}`
  writeFileSync(tmp, `${JSON.stringify(Schema.encodeSync(TinyRecipe)(recipe), null, 1)}\n`)
  renameSync(tmp, RECIPE_FILE)
  console.log(JSON.stringify(recipe.plan))
}
