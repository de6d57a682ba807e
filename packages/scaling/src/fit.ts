/**
 * The semi-parametric fit of McKenna et al. 2025 ("Scaling Laws for Differentially Private
 * Language Models", §3.3):
 *
 * 1. per (model, learning rate), on the T x sigma-bar matrix: drop T < minStep, rolling mean
 *    along T, isotonic non-increasing in T, then non-decreasing in sigma-bar (smoothing.ts);
 *    repeated observations of one cell are averaged first;
 * 2. minimum over learning rate, cell by cell;
 * 3. extrapolation in T by L = E + A T^-alpha (extrapolation.ts): E per model on its
 *    sigma-bar = 0 curve (on its lowest-noise curve when the sweep has no non-private run),
 *    then (A, alpha) per (model, sigma-bar) on the late steps T >= tailFraction * (the curve's
 *    last step) with E fixed; the grid gets the `extrapolateSteps` (default: six doublings
 *    past the last observed step as in the paper, four grid points per doubling so that the
 *    piecewise-linear law has no coarse kinks there);
 * 4. a monotonicity pass over the completed grid (non-increasing in T, non-decreasing in
 *    sigma-bar: the extrapolated tails are fitted one curve at a time and may cross);
 * 5. missing sigma-bar cells between two observed ones by linear interpolation in log sigma-bar;
 * 6. the law = log loss on the grid (log M, log T, log sigma-bar), read by multilinear
 *    interpolation, NaN outside (predict.ts). sigma-bar = 0 is a separate (log M, log T) slice.
 *
 * The step axis: the union of observed steps, thinned to at most maxGridSteps log-spaced
 * ones (the smoothed curves are interpolated linearly in log T onto it), plus the
 * extrapolated steps. A curve is NaN before its own first step.
 */
import { ScalingFitError } from "./errors.ts"
import { fitConvergence, fitTail, evalPowerLaw, type PowerLaw } from "./extrapolation.ts"
import { fillInteriorGaps, interpolate1d } from "./interpolation.ts"
import { SCALING_LAW_FORMAT, type ScalingLaw, type StoredFitOptions } from "./law.ts"
import type { ModelSpec, SweepObservation } from "./observations.ts"
import { fitParametricLaw } from "./parametric.ts"
import { isotonicNonDecreasing, isotonicNonIncreasing, onFinite, smoothLossMatrix } from "./smoothing.ts"

export interface FitOptions {
  /** S, tokens per sequence. */
  readonly sequenceLength: number
  /** The sweep's physical batch (sequences per step). */
  readonly physicalBatch: number
  /** The models with their configs; default: one per model name in the observations, empty config. */
  readonly models?: ReadonlyArray<ModelSpec>
  /** Drop steps below this (learning-rate warm-up); default 0. */
  readonly minStep?: number
  /** Rolling-mean window along T in logged points; default 10 (the paper's). */
  readonly smoothingWindow?: number
  /** Tails are fitted on T >= tailFraction * last step; default 1/8 (the paper's 16K of 128K). */
  readonly tailFraction?: number
  /** Steps appended by extrapolation; default the last observed step times 2^(k/4), k = 1..24 (six doublings, as the paper, four points each). */
  readonly extrapolateSteps?: ReadonlyArray<number>
  /** At most this many observed steps on the grid's T axis (log-spaced); default 48. */
  readonly maxGridSteps?: number
  /** Also fit the parametric law (parametric.ts); default true. */
  readonly parametric?: boolean
  readonly provenance?: { readonly source?: string; readonly runId?: string; readonly createdAt?: string }
}

const fail = (message: string): never => {
  throw new ScalingFitError({ message })
}

const sortedUnique = (xs: Iterable<number>): Array<number> => [...new Set(xs)].sort((a, b) => a - b)

/** Rounds to 7 significant digits (keeps the JSON small; far below the fit's error). */
const round = (x: number): number => (Number.isFinite(x) ? Number(x.toPrecision(7)) : x)

/** At most `max` of the sorted values, log-spaced, always keeping the first and last. */
export const thinLogSpaced = (values: ReadonlyArray<number>, max: number): Array<number> => {
  if (values.length <= max) return [...values]
  const lo = Math.log(values[0]!)
  const hi = Math.log(values[values.length - 1]!)
  const chosen = new Set<number>()
  let j = 0
  for (let k = 0; k < max; k++) {
    const target = lo + ((hi - lo) * k) / (max - 1)
    while (j + 1 < values.length && Math.abs(Math.log(values[j + 1]!) - target) <= Math.abs(Math.log(values[j]!) - target)) j++
    chosen.add(values[j]!)
  }
  return [...chosen].sort((a, b) => a - b)
}

interface Curve {
  readonly steps: Array<number>
  readonly losses: Array<number>
}

const validate = (obs: ReadonlyArray<SweepObservation>, options: FitOptions): ReadonlyArray<ModelSpec> => {
  if (obs.length === 0) fail("no observations: the sweep produced no losses; run the dp-scaling pipeline's sweep stages first")
  if (!(Number.isInteger(options.sequenceLength) && options.sequenceLength > 0)) fail(`sequenceLength ${options.sequenceLength} must be a positive integer`)
  if (!(Number.isInteger(options.physicalBatch) && options.physicalBatch > 0)) fail(`physicalBatch ${options.physicalBatch} must be a positive integer`)
  const tf = options.tailFraction ?? 1 / 8
  if (!(tf > 0 && tf < 1)) fail(`tailFraction ${tf} must be in (0, 1)`)
  for (const [i, o] of obs.entries()) {
    if (!(Number.isFinite(o.loss) && o.loss > 0)) fail(`observation ${i} (model ${o.model}, step ${o.step}): loss ${o.loss} must be a positive finite number (a diverged run? drop it)`)
    if (!(Number.isFinite(o.step) && o.step > 0)) fail(`observation ${i} (model ${o.model}): step ${o.step} must be positive`)
    if (!(Number.isFinite(o.noiseBatchRatio) && o.noiseBatchRatio >= 0)) fail(`observation ${i} (model ${o.model}): noiseBatchRatio ${o.noiseBatchRatio} must be >= 0`)
    if (!(Number.isFinite(o.params) && o.params > 0)) fail(`observation ${i} (model ${o.model}): params ${o.params} must be positive`)
  }
  const models: Array<ModelSpec> = options.models !== undefined ? [...options.models] : []
  if (options.models === undefined) {
    for (const o of obs) if (!models.some((m) => m.name === o.model)) models.push({ name: o.model, params: o.params, config: {} })
  }
  for (const o of obs) {
    const m = models.find((x) => x.name === o.model)
    if (m === undefined) fail(`observation of model "${o.model}" but the fit's models are ${models.map((x) => x.name).join(", ")}; add it to options.models`)
    else if (Math.abs(m.params / o.params - 1) > 1e-9) fail(`model "${o.model}": an observation says ${o.params} params, the model list ${m.params}; use one parameter count`)
  }
  const observed = models.filter((m) => obs.some((o) => o.model === m.name)).sort((a, b) => a.params - b.params)
  for (let i = 1; i < observed.length; i++)
    if (observed[i]!.params === observed[i - 1]!.params) fail(`models "${observed[i - 1]!.name}" and "${observed[i]!.name}" have the same parameter count ${observed[i]!.params}; the law's model axis needs distinct sizes`)
  return observed
}

/**
 * Fits the semi-parametric law to a sweep. Throws ScalingFitError on observations or
 * options that cannot produce a law.
 */
export const fitScalingLaw = (observations: ReadonlyArray<SweepObservation>, options: FitOptions): ScalingLaw => {
  const models = validate(observations, options)
  const minStep = options.minStep ?? 0
  const window = options.smoothingWindow ?? 10
  const tailFraction = options.tailFraction ?? 1 / 8
  const maxGridSteps = Math.max(2, options.maxGridSteps ?? 48)
  const obs = observations.filter((o) => o.step >= minStep)
  if (obs.length === 0) fail(`no observation at step >= minStep ${minStep}; lower minStep (the last logged step is ${Math.max(...observations.map((o) => o.step))})`)

  // 1-2. Smooth per (model, learning rate), then the minimum over learning rates.
  const best = new Map<string, Map<number, { loss: number; learningRate: number }>>() // key model|sigma -> step -> best
  const key = (model: string, sigma: number) => `${model}|${sigma}`
  const groups = new Map<string, Array<SweepObservation>>()
  for (const o of obs) {
    const k = `${o.model}|${o.learningRate}`
    const g = groups.get(k)
    if (g === undefined) groups.set(k, [o])
    else g.push(o)
  }
  for (const group of groups.values()) {
    const steps = sortedUnique(group.map((o) => o.step))
    const sigmas = sortedUnique(group.map((o) => o.noiseBatchRatio))
    const sum = steps.map(() => sigmas.map(() => 0))
    const count = steps.map(() => sigmas.map(() => 0))
    for (const o of group) {
      const r = steps.indexOf(o.step)
      const c = sigmas.indexOf(o.noiseBatchRatio)
      sum[r]![c]! += o.loss
      count[r]![c]! += 1
    }
    const matrix = sum.map((row, r) => row.map((s, c) => (count[r]![c]! > 0 ? s / count[r]![c]! : Number.NaN)))
    const smoothed = smoothLossMatrix(matrix, window)
    const model = group[0]!.model
    const lr = group[0]!.learningRate
    sigmas.forEach((sigma, c) => {
      const k = key(model, sigma)
      let cells = best.get(k)
      if (cells === undefined) best.set(k, (cells = new Map()))
      steps.forEach((step, r) => {
        const v = smoothed[r]![c]!
        if (!Number.isFinite(v)) return
        const prev = cells.get(step)
        if (prev === undefined || v < prev.loss) cells.set(step, { loss: v, learningRate: lr })
      })
    })
  }
  const curveOf = (model: string, sigma: number): Curve | undefined => {
    const cells = best.get(key(model, sigma))
    if (cells === undefined || cells.size === 0) return undefined
    const steps = sortedUnique(cells.keys())
    return { steps, losses: steps.map((s) => cells.get(s)!.loss) }
  }

  // Axes.
  const allSigmas = sortedUnique(obs.map((o) => o.noiseBatchRatio))
  const positive = allSigmas.filter((s) => s > 0)
  const hasNonPrivate = allSigmas[0] === 0
  if (positive.length === 0) fail("the sweep has no private run (every noiseBatchRatio is 0); add runs with noiseBatchRatio > 0")
  const observedSteps = sortedUnique(obs.map((o) => o.step))
  const lastStep = observedSteps[observedSteps.length - 1]!
  const extrapolateSteps = sortedUnique(
    (options.extrapolateSteps ?? Array.from({ length: 24 }, (_, k) => Math.round(lastStep * 2 ** ((k + 1) / 4)))).filter((t) => t > lastStep)
  )
  const thinned = thinLogSpaced(observedSteps, maxGridSteps)
  const gridSteps = [...thinned, ...extrapolateSteps]

  // 3. Extrapolation: E per model, then a tail per (model, sigma-bar).
  const convergence: Array<{ model: string; loss: number; fittedOn: "non-private" | "lowest-noise" }> = []
  const column = (curve: Curve | undefined, floor: number): Array<number> => {
    if (curve === undefined) return gridSteps.map(() => Number.NaN)
    const first = curve.steps[0]!
    const last = curve.steps[curve.steps.length - 1]!
    let tail: PowerLaw | undefined
    const tailOf = (): PowerLaw => {
      if (tail !== undefined) return tail
      let from = curve.steps.findIndex((s) => s >= tailFraction * last)
      from = Math.max(0, Math.min(from, curve.steps.length - 3))
      tail = fitTail(curve.steps.slice(from), curve.losses.slice(from), floor)
      return tail
    }
    const logSteps = curve.steps.map(Math.log)
    return gridSteps.map((t) => {
      if (t < first) return Number.NaN
      if (t <= last) return curve.steps.length === 1 ? curve.losses[0]! : interpolate1d(logSteps, curve.losses, Math.log(t))
      return evalPowerLaw(tailOf(), t)
    })
  }
  const nM = models.length
  const nT = gridSteps.length
  const nS = positive.length
  const cube = new Float64Array(nM * nT * nS).fill(Number.NaN)
  const slice = new Float64Array(nM * nT).fill(Number.NaN)
  for (const [m, model] of models.entries()) {
    const zero = hasNonPrivate ? curveOf(model.name, 0) : undefined
    const reference = zero ?? positive.map((s) => curveOf(model.name, s)).find((c) => c !== undefined)
    if (reference === undefined) continue
    const floor = reference.steps.length >= 3 ? fitConvergence(reference.steps, reference.losses).floor : Math.min(...reference.losses) * 0.9
    convergence.push({ model: model.name, loss: round(floor), fittedOn: zero !== undefined ? "non-private" : "lowest-noise" })
    // Columns over (sigma-bar = 0, positive sigmas), then 4. monotonicity and 5. gap filling.
    const cols = [zero !== undefined ? column(zero, floor) : gridSteps.map(() => Number.NaN), ...positive.map((s) => column(curveOf(model.name, s), floor))]
    const fixed = cols.map((c) => onFinite(c, (v) => isotonicNonIncreasing(v)))
    const logSig = positive.map(Math.log)
    for (let t = 0; t < nT; t++) {
      const row = onFinite(
        fixed.map((c) => c[t]!),
        (v) => isotonicNonDecreasing(v)
      )
      slice[m * nT + t] = row[0]!
      const filled = fillInteriorGaps(logSig, row.slice(1))
      for (let s = 0; s < nS; s++) cube[(m * nT + t) * nS + s] = filled[s]!
    }
  }

  const toCells = (values: Float64Array) => Array.from(values, (v) => (Number.isFinite(v) && v > 0 ? round(Math.log(v)) : null))
  const fitOptions: StoredFitOptions = { minStep, smoothingWindow: window, tailFraction, extrapolateSteps, maxGridSteps }

  // The parametric fit, on the observations at the grid's observed steps, each at the learning
  // rate the minimum chose (bounded in number, so the law file stays small).
  let parametric: ScalingLaw["parametric"]
  if (options.parametric ?? true) {
    const onGrid = new Set(thinned)
    const chosen = obs.filter((o) => onGrid.has(o.step) && best.get(key(o.model, o.noiseBatchRatio))?.get(o.step)?.learningRate === o.learningRate)
    if (chosen.length >= 10) {
      const fit = fitParametricLaw(chosen, { sequenceLength: options.sequenceLength, physicalBatch: options.physicalBatch })
      parametric = { ...fit, residuals: fit.residuals.map((r) => ({ ...r, predicted: round(r.predicted), relError: round(r.relError) })) }
    }
  }

  const provenance = {
    observations: observations.length,
    learningRates: sortedUnique(obs.map((o) => o.learningRate)),
    ...(options.provenance?.source !== undefined ? { source: options.provenance.source } : {}),
    ...(options.provenance?.runId !== undefined ? { runId: options.provenance.runId } : {}),
    ...(options.provenance?.createdAt !== undefined ? { createdAt: options.provenance.createdAt } : {})
  }
  return {
    format: SCALING_LAW_FORMAT,
    sequenceLength: options.sequenceLength,
    physicalBatch: options.physicalBatch,
    models: models.map((m) => ({ name: m.name, params: m.params, config: { ...m.config } })),
    grid: {
      logParams: models.map((m) => Math.log(m.params)),
      logSteps: gridSteps.map(Math.log),
      logNoiseBatchRatio: positive.map(Math.log),
      logLoss: toCells(cube)
    },
    ...(hasNonPrivate ? { nonPrivate: { logLoss: toCells(slice) } } : {}),
    observedSteps: { min: observedSteps[0]!, max: lastStep },
    convergence,
    fitOptions,
    ...(parametric !== undefined ? { parametric } : {}),
    provenance
  }
}
