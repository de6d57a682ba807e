/**
 * The parametric scaling law of McKenna et al. 2025, App. E (a second fit beside the
 * semi-parametric one; the planner does not use it):
 *
 *   L = E + A / M^alpha + B / D^beta + C s'^gamma / M^gamma2,   s' = sigmoid((ln sigma-bar + c0) / c1)
 *
 * with c0 = 8 and c1 = 1.6 as in the paper (options may change them), M the parameter count
 * and sigma-bar the noise-batch ratio (s' = 0 for a non-private run).
 *
 * The paper's data-size term is B / N^beta; a sweep has one dataset size N, so that term is
 * a constant absorbed into E. The sweep varies T instead, so the term here is the Chinchilla
 * one in tokens seen, D = T * physical batch * sequence length, which carries the loss's
 * dependence on steps (a law without it could not fit losses read at every step).
 *
 * Fit: Huber loss (delta 1e-3, as in Hoffmann et al. 2022) on log L - log prediction,
 * minimised by iteratively reweighted least squares: each round is a Levenberg-Marquardt
 * solve (least-squares.ts, analytic Jacobian) on residuals scaled by sqrt of the
 * Huber weights min(1, delta / |r|); the weights are applied by scaling the data, not by the
 * library's `weights` option. A few starting points; the lowest Huber objective wins.
 */
import { Schema } from "effect"
import { leastSquares } from "./least-squares.ts"
import type { SweepObservation } from "./observations.ts"

export const ParametricParams = Schema.Struct({
  E: Schema.Finite,
  A: Schema.Finite,
  alpha: Schema.Finite,
  B: Schema.Finite,
  beta: Schema.Finite,
  C: Schema.Finite,
  gamma: Schema.Finite,
  gamma2: Schema.Finite
})
export type ParametricParams = typeof ParametricParams.Type

export const ParametricResidual = Schema.Struct({
  model: Schema.String,
  params: Schema.Finite,
  learningRate: Schema.Finite,
  noiseBatchRatio: Schema.Finite,
  step: Schema.Finite,
  loss: Schema.Finite,
  predicted: Schema.Finite,
  /** predicted / loss - 1. */
  relError: Schema.Finite
})
export type ParametricResidual = typeof ParametricResidual.Type

export const ParametricFit = Schema.Struct({
  form: Schema.String,
  params: ParametricParams,
  noiseSigmoid: Schema.Struct({ centre: Schema.Finite, scale: Schema.Finite }),
  /** Tokens per step D/T = physical batch * sequence length. */
  tokensPerStep: Schema.Finite,
  huberDelta: Schema.Finite,
  /** Mean Huber loss at the optimum. */
  objective: Schema.Finite,
  /** Root mean square and max of |relError| over the residuals. */
  rmsRelError: Schema.Finite,
  maxAbsRelError: Schema.Finite,
  residuals: Schema.Array(ParametricResidual)
})
export type ParametricFit = typeof ParametricFit.Type

export const PARAMETRIC_FORM = "L = E + A/M^alpha + B/D^beta + C*s^gamma/M^gamma2, D = T*physicalBatch*sequenceLength, s = sigmoid((ln sigmaBar + centre)/scale)"

export interface ParametricOptions {
  readonly sequenceLength: number
  readonly physicalBatch: number
  readonly huberDelta?: number
  readonly noiseSigmoid?: { readonly centre: number; readonly scale: number }
  /** Extra starting points (exponents alpha, beta, gamma, gamma2). */
  readonly starts?: ReadonlyArray<readonly [number, number, number, number]>
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x))

/** s' of a noise-batch ratio (0 for 0). */
export const noiseFeature = (noiseBatchRatio: number, sig: { readonly centre: number; readonly scale: number }): number =>
  noiseBatchRatio > 0 ? sigmoid((Math.log(noiseBatchRatio) + sig.centre) / sig.scale) : 0

/** The parametric law's prediction. */
export const predictParametric = (
  p: ParametricParams,
  q: { readonly params: number; readonly steps: number; readonly noiseBatchRatio: number },
  fit: { readonly tokensPerStep: number; readonly noiseSigmoid: { readonly centre: number; readonly scale: number } }
): number => {
  const s = noiseFeature(q.noiseBatchRatio, fit.noiseSigmoid)
  const noise = s > 0 ? p.C * Math.pow(s, p.gamma) * Math.pow(q.params, -p.gamma2) : 0
  return p.E + p.A * Math.pow(q.params, -p.alpha) + p.B * Math.pow(q.steps * fit.tokensPerStep, -p.beta) + noise
}

const huber = (r: number, delta: number) => (Math.abs(r) <= delta ? 0.5 * r * r : delta * (Math.abs(r) - 0.5 * delta))

/**
 * Fits the parametric law to observations (typically the best learning rate's runs) and
 * reports the residual of every observation.
 */
export const fitParametricLaw = (obs: ReadonlyArray<SweepObservation>, options: ParametricOptions): ParametricFit => {
  const delta = options.huberDelta ?? 1e-3
  const sig = options.noiseSigmoid ?? { centre: 8, scale: 1.6 }
  const tokensPerStep = options.physicalBatch * options.sequenceLength
  const n = obs.length
  const lnM = obs.map((o) => Math.log(o.params))
  const lnD = obs.map((o) => Math.log(o.step * tokensPerStep))
  const s = obs.map((o) => noiseFeature(o.noiseBatchRatio, sig))
  const lnS = s.map((v) => (v > 0 ? Math.log(v) : Number.NEGATIVE_INFINITY))
  const y = obs.map((o) => Math.log(o.loss))
  const minL = Math.min(...obs.map((o) => o.loss))
  const meanL = obs.reduce((a, o) => a + o.loss, 0) / Math.max(1, n)
  const meanLnM = lnM.reduce((a, b) => a + b, 0) / Math.max(1, n)
  const meanLnD = lnD.reduce((a, b) => a + b, 0) / Math.max(1, n)
  // theta = [E, lnA, alpha, lnB, beta, lnC, gamma, gamma2]
  const terms = (th: ReadonlyArray<number>, i: number) => {
    const a = Math.exp(th[1]! - th[2]! * lnM[i]!)
    const b = Math.exp(th[3]! - th[4]! * lnD[i]!)
    const c = s[i]! > 0 ? Math.exp(th[5]! + th[6]! * lnS[i]! - th[7]! * lnM[i]!) : 0
    return { a, b, c, pred: th[0]! + a + b + c }
  }
  const toParams = (th: ReadonlyArray<number>): ParametricParams => ({
    E: th[0]!,
    A: Math.exp(th[1]!),
    alpha: th[2]!,
    B: Math.exp(th[3]!),
    beta: th[4]!,
    C: Math.exp(th[5]!),
    gamma: th[6]!,
    gamma2: th[7]!
  })
  const objective = (th: ReadonlyArray<number>) => {
    let total = 0
    for (let i = 0; i < n; i++) {
      const p = terms(th, i).pred
      if (!(p > 0)) return Number.POSITIVE_INFINITY
      total += huber(Math.log(p) - y[i]!, delta)
    }
    return total / Math.max(1, n)
  }
  const minValues = [0, -200, 0, -200, 0, -200, 0, -3]
  const maxValues = [minL * (1 - 1e-9), 200, 3, 200, 3, 200, 8, 3]
  const solve = (start: ReadonlyArray<number>): Array<number> => {
    let th = [...start]
    for (let round = 0; round < 6; round++) {
      const w = new Array<number>(n)
      for (let i = 0; i < n; i++) {
        const p = terms(th, i).pred
        const r = p > 0 ? Math.log(p) - y[i]! : 1
        w[i] = Math.sqrt(Math.abs(r) <= delta ? 1 : delta / Math.abs(r))
      }
      const idx = Array.from({ length: n }, (_, i) => i)
      const r = leastSquares({
        x: idx,
        y: idx.map((i) => w[i]! * y[i]!),
        model: (p) => (i) => w[i]! * Math.log(Math.max(terms(p, i).pred, 1e-300)),
        jacobian: (p) => (i) => {
          const t = terms(p, i)
          const k = w[i]! / Math.max(t.pred, 1e-300)
          return [k, k * t.a, -k * t.a * lnM[i]!, k * t.b, -k * t.b * lnD[i]!, k * t.c, t.c > 0 ? k * t.c * lnS[i]! : 0, -k * t.c * lnM[i]!]
        },
        initial: th,
        min: minValues,
        max: maxValues,
        maxIterations: 300
      })
      const before = objective(th)
      const after = objective(r.params)
      if (!(after <= before)) break
      th = r.params
      if (before - after <= 1e-12 * Math.max(before, 1e-300)) break
    }
    return th
  }
  const exponentStarts = options.starts ?? [
    [0.3, 0.3, 1, 0.3],
    [0.5, 0.5, 2, 0.5],
    [0.2, 0.2, 0.5, 0]
  ]
  let best: Array<number> | undefined
  let bestObj = Number.POSITIVE_INFINITY
  for (const [alpha, beta, gamma, gamma2] of exponentStarts) {
    const e0 = 0.5 * minL
    // Each term starts at a share of the loss above E0 at the data's typical M and D.
    const share = Math.max(1e-6, (meanL - e0) / 3)
    const start = [e0, Math.log(share) + alpha * meanLnM, alpha, Math.log(share) + beta * meanLnD, beta, Math.log(share) + gamma2 * meanLnM, gamma, gamma2]
    const th = solve(start)
    const obj = objective(th)
    if (obj < bestObj) {
      best = th
      bestObj = obj
    }
  }
  const th = best ?? [minL, -200, 0, -200, 0, -200, 0, 0]
  const params = toParams(th)
  const fitInfo = { tokensPerStep, noiseSigmoid: sig }
  const residuals = obs.map((o) => {
    const predicted = predictParametric(params, { params: o.params, steps: o.step, noiseBatchRatio: o.noiseBatchRatio }, fitInfo)
    return {
      model: o.model,
      params: o.params,
      learningRate: o.learningRate,
      noiseBatchRatio: o.noiseBatchRatio,
      step: o.step,
      loss: o.loss,
      predicted,
      relError: predicted / o.loss - 1
    }
  })
  const rel = residuals.map((r) => Math.abs(r.relError))
  return {
    form: PARAMETRIC_FORM,
    params,
    noiseSigmoid: sig,
    tokensPerStep,
    huberDelta: delta,
    objective: Number.isFinite(bestObj) ? bestObj : 0,
    rmsRelError: Math.sqrt(rel.reduce((a, b) => a + b * b, 0) / Math.max(1, rel.length)),
    maxAbsRelError: rel.reduce((a, b) => Math.max(a, b), 0),
    residuals
  }
}
