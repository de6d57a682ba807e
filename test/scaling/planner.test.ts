/**
 * The planner on a synthetic law shaped like the paper's findings (a noise penalty that grows
 * with model size): at fixed compute a smaller epsilon gives a larger batch and fewer or equal
 * steps, the DP optimum is a smaller model than the non-private one, and every plan's sigma is
 * the accountant's calibration for its (q, T, epsilon, delta).
 */
import { describe, expect, it } from "vitest"
import { Result } from "effect"
import { calibrateNoiseMultiplier } from "@dpipe/accounting"
import { PlanError, fitScalingLaw, planTraining, predictLoss, type PlanResult, type ScalingLaw } from "@dpipe/scaling"
import { paperLikeLaw, sweep } from "./synthetic.ts"

const law: ScalingLaw = fitScalingLaw(sweep({ law: paperLikeLaw, seed: 5 }), { sequenceLength: 128, physicalBatch: 64, minStep: 100, parametric: false })
const base = { computeFlops: 1e14, delta: 1e-6, datasetSize: 100_000, batchGridSize: 40 } as const
// The findings are checked on RDP-calibrated plans (milliseconds each); the PLD refinement,
// seconds per candidate, is checked once below.
const plans = new Map<number, PlanResult>()
const planAt = (epsilon: number) => {
  let p = plans.get(epsilon)
  if (p === undefined) plans.set(epsilon, (p = planTraining(law, { ...base, epsilon, accountant: "rdp" })))
  return p
}

describe("planTraining", () => {
  it("a smaller epsilon gives a larger expected batch and fewer or equal steps at the same compute", () => {
    const strict = planAt(1).best
    const loose = planAt(8).best
    expect(strict.expectedBatchSize).toBeGreaterThan(loose.expectedBatchSize)
    expect(strict.steps).toBeLessThanOrEqual(loose.steps)
    expect(strict.predictedLoss).toBeGreaterThan(loose.predictedLoss)
  }, 240_000)

  it("the optimal DP model is smaller than the non-private optimum at the same compute", () => {
    for (const eps of [1, 8]) {
      const r = planAt(eps)
      expect(r.nonPrivate).toBeDefined()
      expect(r.best.params).toBeLessThan(r.nonPrivate!.params)
      expect(r.nonPrivate!.predictedLoss).toBeLessThan(r.best.predictedLoss)
      expect(r.nonPrivate!.expectedBatchSize).toBe(law.physicalBatch)
    }
  }, 240_000)

  it("sigma is the accountant's calibration for the plan's (q, T, epsilon, delta); the rest follows from it", () => {
    const r = planTraining(law, { ...base, epsilon: 1, maxRefine: 3 })
    expect(r.search.refined).toBe(3)
    for (const p of r.nearOptimal) {
      const c = calibrateNoiseMultiplier({ accountant: p.accountant, mechanism: { samplingRate: p.expectedBatchSize / base.datasetSize }, steps: p.steps, epsilon: 1, delta: base.delta })
      expect(Result.isSuccess(c)).toBe(true)
      if (Result.isSuccess(c)) expect(p.noiseMultiplier).toBe(c.success.noiseMultiplier)
      expect(p.epsilon).toBeLessThanOrEqual(1)
      expect(p.samplingRate).toBe(p.expectedBatchSize / base.datasetSize)
      expect(p.noiseBatchRatio).toBe(p.noiseMultiplier / p.expectedBatchSize)
      expect(p.steps).toBe(Math.floor(base.computeFlops / (6 * p.params * p.expectedBatchSize * law.sequenceLength)))
      expect(p.computeFlops).toBeLessThanOrEqual(base.computeFlops)
      expect(p.predictedLoss).toBe(predictLoss(law, { params: p.params, steps: p.steps, noiseBatchRatio: p.noiseBatchRatio }))
    }
    expect(r.best.accountant).toBe("pld")
    expect(r.nearOptimal[0]).toEqual(r.best)
    for (const p of r.nearOptimal) expect(p.predictedLoss).toBeLessThanOrEqual(r.best.predictedLoss * 1.01)
    // PLD is tighter than RDP: the refined sigma is below the RDP one of the same candidate.
    const rdp = calibrateNoiseMultiplier({ accountant: "rdp", mechanism: { samplingRate: r.best.samplingRate }, steps: r.best.steps, epsilon: 1, delta: base.delta })
    expect(Result.isSuccess(rdp) && r.best.noiseMultiplier < rdp.success.noiseMultiplier).toBe(true)
  }, 240_000)

  it("RDP-only plans carry RDP sigmas", () => {
    const r = planAt(8)
    expect(r.search.refined).toBe(0)
    const c = calibrateNoiseMultiplier({ accountant: "rdp", mechanism: { samplingRate: r.best.samplingRate }, steps: r.best.steps, epsilon: 8, delta: base.delta })
    expect(Result.isSuccess(c) && c.success.noiseMultiplier).toBe(r.best.noiseMultiplier)
    expect(r.best.accountant).toBe("rdp")
  }, 240_000)

  it("with a batch cap: expected batches stay under it and sigma is the truncated-Poisson PLD calibration", () => {
    const cap = 400
    const r = planTraining(law, { ...base, epsilon: 2, batchCap: cap, maxRefine: 1 })
    expect(r.nearOptimal.length).toBeGreaterThan(0)
    for (const p of r.nearOptimal) {
      expect(p.expectedBatchSize).toBeLessThanOrEqual(cap)
      expect(p.accountant).toBe("pld")
    }
    const c = calibrateNoiseMultiplier({
      accountant: "pld",
      mechanism: { samplingRate: r.best.samplingRate, datasetSize: base.datasetSize, batchCap: cap },
      steps: r.best.steps,
      epsilon: 2,
      delta: base.delta
    })
    expect(Result.isSuccess(c) && c.success.noiseMultiplier).toBe(r.best.noiseMultiplier)
  }, 240_000)

  it("refuses bad input and budgets outside the law, saying why", () => {
    const bad = (f: () => unknown, pattern: RegExp) => {
      try {
        f()
        expect.unreachable()
      } catch (e) {
        expect(e).toBeInstanceOf(PlanError)
        expect((e as PlanError).message).toMatch(pattern)
      }
    }
    bad(() => planTraining(law, { ...base, epsilon: 0 }), /epsilon 0 must be a positive/)
    bad(() => planTraining(law, { ...base, epsilon: 1, delta: 1 }), /delta 1 must be in \(0, 1\)/)
    bad(() => planTraining(law, { ...base, epsilon: 1, datasetSize: 10.5 }), /datasetSize 10.5 must be a positive integer/)
    bad(() => planTraining(law, { ...base, epsilon: 1, computeFlops: 1e9 }), /lands inside the law's grid.*the law covers steps/)
  }, 240_000)
})
