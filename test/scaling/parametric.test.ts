/**
 * The parametric law of App. E: on noiseless data drawn from the form itself, the Huber fit
 * recovers its parameters; every observation gets a residual.
 */
import { describe, expect, it } from "vitest"
import { fitParametricLaw, noiseFeature, predictParametric, type ParametricParams, type SweepObservation } from "@dpipe/scaling"
import { MODELS, SIGMAS, normals } from "./synthetic.ts"

const truth: ParametricParams = { E: 1.9, A: 40, alpha: 0.28, B: 300, beta: 0.3, C: 2.5, gamma: 1.5, gamma2: -0.1 }
const fitInfo = { tokensPerStep: 64 * 128, noiseSigmoid: { centre: 8, scale: 1.6 } }

const data = (noise: number): Array<SweepObservation> => {
  const z = normals(11)
  const out: Array<SweepObservation> = []
  for (const m of MODELS)
    for (const s of SIGMAS)
      for (let step = 100; step <= 2000; step += 100)
        out.push({
          model: m.name,
          params: m.params,
          learningRate: 1e-3,
          noiseBatchRatio: s,
          step,
          loss: predictParametric(truth, { params: m.params, steps: step, noiseBatchRatio: s }, fitInfo) * (1 + noise * z())
        })
  return out
}

describe("fitParametricLaw", () => {
  it("the noise feature is the paper's sigmoid of (ln sigma-bar + 8) / 1.6, and 0 without noise", () => {
    expect(noiseFeature(0, { centre: 8, scale: 1.6 })).toBe(0)
    expect(noiseFeature(Math.exp(-8), { centre: 8, scale: 1.6 })).toBeCloseTo(0.5, 12)
    expect(noiseFeature(Math.exp(-8 + 1.6), { centre: 8, scale: 1.6 })).toBeCloseTo(1 / (1 + Math.exp(-1)), 12)
  })

  it("recovers its parameters on noiseless data", () => {
    const obs = data(0)
    const fit = fitParametricLaw(obs, { sequenceLength: 128, physicalBatch: 64 })
    expect(fit.residuals).toHaveLength(obs.length)
    expect(fit.maxAbsRelError).toBeLessThan(1e-4)
    const p = fit.params
    expect(p.E).toBeCloseTo(truth.E, 2)
    for (const k of ["alpha", "beta", "gamma", "gamma2"] as const) expect(Math.abs(p[k] - truth[k]), k).toBeLessThan(0.01)
    for (const k of ["A", "B", "C"] as const) expect(Math.abs(p[k] / truth[k] - 1), k).toBeLessThan(0.05)
  })

  it("reports each observation's residual (predicted / loss - 1) on noisy data", () => {
    const obs = data(0.01)
    const fit = fitParametricLaw(obs, { sequenceLength: 128, physicalBatch: 64 })
    const r = fit.residuals[17]!
    expect(r.step).toBe(obs[17]!.step)
    expect(r.loss).toBe(obs[17]!.loss)
    expect(r.predicted).toBeCloseTo(predictParametric(fit.params, { params: r.params, steps: r.step, noiseBatchRatio: r.noiseBatchRatio }, fitInfo), 12)
    expect(r.relError).toBeCloseTo(r.predicted / r.loss - 1, 12)
    // 1% noise: the residuals' rms is about the noise level.
    expect(fit.rmsRelError).toBeGreaterThan(0.005)
    expect(fit.rmsRelError).toBeLessThan(0.02)
  })
})
