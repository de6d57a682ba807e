/**
 * Reading the fitted law: the predicted loss of a (model size, steps, noise-batch ratio)
 * by multilinear interpolation of log loss over (log M, log T, log sigma-bar), NaN outside
 * the grid (McKenna et al. 2025, §3.3). sigma-bar = 0 reads the non-private (log M, log T)
 * slice (NaN when the sweep had no non-private run).
 */
import { interpolateGrid } from "./interpolation.ts"
import type { ScalingLaw } from "./law.ts"

export interface LossQuery {
  readonly params: number
  readonly steps: number
  readonly noiseBatchRatio: number
}

export interface PredictOptions {
  /**
   * A sigma-bar below the grid's smallest: "nan" (default, the paper's rule) or "clamp", which
   * reads the smallest grid sigma-bar instead, an upper bound on the loss because the fitted
   * loss is non-decreasing in sigma-bar.
   */
  readonly belowNoiseGrid?: "nan" | "clamp"
}

const values = new WeakMap<ScalingLaw, { cube: Float64Array; slice: Float64Array | undefined }>()

const arrays = (law: ScalingLaw) => {
  let v = values.get(law)
  if (v === undefined) {
    const toArray = (cells: ReadonlyArray<number | null>) => Float64Array.from(cells, (c) => (c === null ? Number.NaN : c))
    v = { cube: toArray(law.grid.logLoss), slice: law.nonPrivate !== undefined ? toArray(law.nonPrivate.logLoss) : undefined }
    values.set(law, v)
  }
  return v
}

/** The law's predicted loss (nats/token); NaN outside the grid. */
export const predictLoss = (law: ScalingLaw, q: LossQuery, options: PredictOptions = {}): number => {
  if (!(q.params > 0 && q.steps > 0 && q.noiseBatchRatio >= 0)) return Number.NaN
  const { cube, slice } = arrays(law)
  const g = law.grid
  const lm = Math.log(q.params)
  const lt = Math.log(q.steps)
  if (q.noiseBatchRatio === 0) return slice === undefined ? Number.NaN : Math.exp(interpolateGrid([g.logParams, g.logSteps], slice, [lm, lt]))
  let ls = Math.log(q.noiseBatchRatio)
  if (options.belowNoiseGrid === "clamp") ls = Math.max(ls, g.logNoiseBatchRatio[0]!)
  return Math.exp(interpolateGrid([g.logParams, g.logSteps, g.logNoiseBatchRatio], cube, [lm, lt, ls]))
}

/** The ranges of the law's grid, in natural units. */
export const lawDomain = (law: ScalingLaw) => {
  const g = law.grid
  const range = (axis: ReadonlyArray<number>) => ({ min: Math.exp(axis[0]!), max: Math.exp(axis[axis.length - 1]!) })
  const params = law.models.map((m) => m.params)
  return { params: { min: Math.min(...params), max: Math.max(...params) }, steps: range(g.logSteps), noiseBatchRatio: range(g.logNoiseBatchRatio) }
}
