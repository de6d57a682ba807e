/**
 * The default (tiny) recipe of vaultgemma-1b is the planner's: planTraining on the shipped
 * law (pipelines/scaling-laws/mail-tiny.json) with the shipped request reproduces the
 * shipped recipe, the tiny scale trains exactly that plan (model, expected batch, steps,
 * sigma) and reports its predicted loss, and the plan's sigma keeps the declared budget by
 * the PLD accountant.
 */
import { describe, expect, it } from "vitest"
import { Result } from "effect"
import { pldEpsilon } from "@dpipe/accounting/pld-accountant"
import { dpSgdStepEvent, selfComposed } from "@dpipe/accounting/events"
import { SPEED_VS_TINY, TINY_PLAN_REQUEST, TOKENS_PER_SECOND, TRAIN_SECONDS, affordableFlops, planTinyRecipe, readTinyRecipe } from "../../pipelines/scaling-laws/tiny-recipe.ts"
import { scales } from "../../pipelines/vaultgemma-1b.ts"

describe("vaultgemma-1b tiny recipe", () => {
  it("is what planTraining gives on the shipped law for the shipped request", async () => {
    const shipped = readTinyRecipe()
    expect(shipped.request).toEqual(TINY_PLAN_REQUEST)
    // Each model is planned at the compute it can spend in the training time here, and the
    // recipe is the model plan with the lowest predicted loss.
    for (const p of shipped.perModel) {
      expect(p.computeFlops).toBeLessThanOrEqual(6 * p.params * TOKENS_PER_SECOND * SPEED_VS_TINY[p.model]! * TRAIN_SECONDS * (1 + 1e-12))
      expect(p.computeFlops).toBeLessThanOrEqual(affordableFlops(p.model, p.params) * (1 + 1e-12))
      expect(p.predictedLoss).toBeGreaterThanOrEqual(shipped.plan.predictedLoss)
    }
    expect(shipped.perModel[0]).toEqual(shipped.plan)
    const again = await planTinyRecipe()
    expect(again.lawSha256).toBe(shipped.lawSha256)
    expect(again.plan.model).toBe(shipped.plan.model)
    expect(again.plan.expectedBatchSize).toBe(shipped.plan.expectedBatchSize)
    expect(again.plan.steps).toBe(shipped.plan.steps)
    expect(again.plan.noiseMultiplier).toBeCloseTo(shipped.plan.noiseMultiplier, 12)
    expect(again.plan.predictedLoss).toBeCloseTo(shipped.plan.predictedLoss, 12)
  }, 900_000)

  it("the tiny scale trains the plan and reports its prediction; its sigma keeps the budget by PLD", () => {
    const { plan } = readTinyRecipe()
    const tiny = scales["tiny"]!
    // The pipeline's parameters: both trainers derive model, steps and q from them, the DP run sigma.
    expect(tiny["params.model"]).toEqual(plan.modelConfig)
    expect(tiny["params.steps"]).toBe(plan.steps)
    expect(tiny["params.samplingRate"]).toBe(plan.samplingRate)
    expect(tiny["params.noiseMultiplier"]).toBe(plan.noiseMultiplier)
    expect(plan.samplingRate * TINY_PLAN_REQUEST.datasetSize).toBeCloseTo(plan.expectedBatchSize, 9)
    expect(tiny["report.predictedLoss"]).toEqual({ dp: plan.predictedLoss, source: expect.stringContaining("mail-tiny.json") })
    const event = selfComposed(dpSgdStepEvent({ samplingRate: plan.samplingRate, noiseMultiplier: plan.noiseMultiplier }), plan.steps)
    const eps = Result.getOrThrow(pldEpsilon(event, TINY_PLAN_REQUEST.delta)).epsilon
    expect(eps).toBeLessThanOrEqual(TINY_PLAN_REQUEST.epsilon)
  }, 300_000)
})
