/**
 * The grid of the scaling-law sweep: model sizes, noise-batch ratios sigma-bar and
 * learning rates, and the node id of each point. The pipeline's graph holds every point
 * of the grid (a graph is the same at every scale); a scale enables a subset of it
 * (`<node>.enabled`) and sets steps, batch and evaluation for all of them.
 *
 * sigma-bar is log-spaced by powers of 2 as in McKenna et al. 2025 (§3.2: 2^-k, plus 0);
 * learning rates are powers of 2 around the recipe's DP learning rate (0.01).
 */
import type { Settings } from "@dpipe/dsl"

/** The model shapes of the sweep, from the recipe's micro to its small model, and one between tiny and small. */
export const SWEEP_MODELS = {
  micro: { dModel: 32, layers: 1, heads: 2, kvHeads: 1, headDim: 16, ffnDim: 64 },
  tiny: { dModel: 64, layers: 2, heads: 4, kvHeads: 4, headDim: 16, ffnDim: 256 },
  mini: { dModel: 96, layers: 3, heads: 4, kvHeads: 4, headDim: 24, ffnDim: 384 },
  small: { dModel: 128, layers: 4, heads: 4, kvHeads: 4, headDim: 32, ffnDim: 512 }
} as const
export type SweepModelName = keyof typeof SWEEP_MODELS
export const SWEEP_MODEL_NAMES = Object.keys(SWEEP_MODELS) as ReadonlyArray<SweepModelName>

/** sigma-bar = 2^-k for these k; null is sigma-bar = 0 (clipped, no noise). */
export const SIGMA_BAR_EXPONENTS: ReadonlyArray<number | null> = [null, 4, 6, 8, 10, 12, 14]
/**
 * Peak learning rate = 2^-j for these j, in the order the points run (a scale that
 * stops early has its first learning rate on the whole model x sigma-bar grid).
 */
export const LR_EXPONENTS: ReadonlyArray<number> = [7, 5, 6]

export interface GridPoint {
  readonly id: string
  readonly model: SweepModelName
  readonly sigmaBarExponent: number | null
  readonly noiseBatchRatio: number
  readonly lrExponent: number
  readonly learningRate: number
}

export const pointId = (model: string, k: number | null, j: number): string => `run-${model}-nbr-${k === null ? "zero" : k}-lr-${j}`

/** Every point, learning rate outermost, then sigma-bar, then model (the order the runtime starts them). */
export const GRID: ReadonlyArray<GridPoint> = LR_EXPONENTS.flatMap((j) =>
  SIGMA_BAR_EXPONENTS.flatMap((k) =>
    SWEEP_MODEL_NAMES.map((model) => ({
      id: pointId(model, k, j),
      model,
      sigmaBarExponent: k,
      noiseBatchRatio: k === null ? 0 : 2 ** -k,
      lrExponent: j,
      learningRate: 2 ** -j
    }))
  )
)

/** What a scale runs: which points, and the training and evaluation settings of every run. */
export interface SweepScale {
  readonly models: ReadonlyArray<SweepModelName>
  readonly sigmaBarExponents: ReadonlyArray<number | null>
  /** Noise-batch ratios of particular models instead of `sigmaBarExponents` (the fit fills interior gaps in log sigma-bar). */
  readonly sigmaBarExponentsFor?: Partial<Record<SweepModelName, ReadonlyArray<number | null>>>
  readonly lrExponents: ReadonlyArray<number>
  /** Learning rates of particular models instead of `lrExponents` (e.g. more for the cheap models). */
  readonly lrExponentsFor?: Partial<Record<SweepModelName, ReadonlyArray<number>>>
  readonly batchSize: number
  readonly steps: number
  readonly warmupSteps: number
  readonly evalEvery: number
  readonly evalSequences: number
}

const isEnabled = (s: SweepScale, p: GridPoint): boolean =>
  s.models.includes(p.model) && (s.sigmaBarExponentsFor?.[p.model] ?? s.sigmaBarExponents).includes(p.sigmaBarExponent) && (s.lrExponentsFor?.[p.model] ?? s.lrExponents).includes(p.lrExponent)

/** The `<node>.<field>` settings of a sweep scale: every grid point, enabled or not. */
export const sweepSettings = (s: SweepScale): Settings => {
  const out: Record<string, unknown> = {}
  for (const p of GRID) {
    const enabled = isEnabled(s, p)
    out[`${p.id}.enabled`] = enabled
    if (!enabled) continue
    out[`${p.id}.batchSize`] = s.batchSize
    out[`${p.id}.steps`] = s.steps
    out[`${p.id}.optimizer.warmupSteps`] = s.warmupSteps
    out[`${p.id}.evalEvery`] = s.evalEvery
    out[`${p.id}.evalSequences`] = s.evalSequences
  }
  return out
}

/** The enabled points of a scale. */
export const enabledPoints = (s: SweepScale): ReadonlyArray<GridPoint> => GRID.filter((p) => isEnabled(s, p))
