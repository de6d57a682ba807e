/**
 * The planner's qualitative findings (McKenna et al. 2025, §4.1) on the law shipped with the
 * repository (pipelines/scaling-laws/mail-tiny.json, fitted by the dp-scaling pipeline on
 * the tiny sweep), at the tiny data's N and a compute the sweep covers: a smaller epsilon
 * gives a larger (or equal) expected batch and fewer (or equal) steps, strictly so between
 * the budgets below, and the DP optimum is a smaller model than the non-private one.
 *
 * RDP-calibrated plans (the planner's grid; PLD refinement changes sigma by a few percent,
 * not the ranking here). At epsilon >= 0.5 the optimum sits at the law's longest steps (the
 * sweep's 96 steps extrapolated two doublings), so batch and steps stop changing there.
 */
import { describe, expect, it } from "vitest"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { Result } from "effect"
import { parseLaw, planTraining, type ScalingLaw } from "@dpipe/scaling"

const file = join(import.meta.dirname, "../../pipelines/scaling-laws/mail-tiny.json")

describe("planner on the shipped mail-tiny law", () => {
  it("smaller epsilon: larger batch, fewer steps; the DP model is smaller than the non-private one", () => {
    const parsed = parseLaw(readFileSync(file, "utf8"), file)
    if (Result.isFailure(parsed)) throw parsed.failure
    const law: ScalingLaw = parsed.success
    const at = (epsilon: number) => planTraining(law, { computeFlops: 1e12, epsilon, delta: 1e-6, datasetSize: 47_808, accountant: "rdp" })
    const plans = [0.125, 0.25, 1, 8].map((eps) => ({ eps, r: at(eps) }))
    for (let i = 1; i < plans.length; i++) {
      const strict = plans[i - 1]!.r.best
      const loose = plans[i]!.r.best
      expect(strict.expectedBatchSize, `B at eps ${plans[i - 1]!.eps} vs ${plans[i]!.eps}`).toBeGreaterThanOrEqual(loose.expectedBatchSize)
      expect(strict.steps, `T at eps ${plans[i - 1]!.eps} vs ${plans[i]!.eps}`).toBeLessThanOrEqual(loose.steps)
      expect(strict.predictedLoss).toBeGreaterThan(loose.predictedLoss)
    }
    const [e0125, e025, e1, e8] = plans.map((p) => p.r.best)
    expect(e0125!.expectedBatchSize).toBeGreaterThan(e1!.expectedBatchSize)
    expect(e0125!.steps).toBeLessThan(e1!.steps)
    expect(e025!.expectedBatchSize).toBeGreaterThan(e8!.expectedBatchSize)
    expect(e025!.steps).toBeLessThan(e8!.steps)
    for (const { r } of plans) {
      expect(r.nonPrivate).toBeDefined()
      expect(r.best.params).toBeLessThan(r.nonPrivate!.params)
    }
  }, 240_000)
})
