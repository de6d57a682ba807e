/**
 * The planner (McKenna et al. 2025, §4 and the authors' `scaling_law_query`): given compute
 * C, a privacy budget (epsilon, delta) and N privacy units, which (model, expected batch B,
 * steps T, noise multiplier sigma) has the lowest predicted loss?
 *
 * Candidates: every model of the law (the planner proposes only models the sweep trained,
 * so each comes with a config that builds it; the paper also interpolates in log M, which
 * would give sizes nobody has a config for) x a log grid of expected batches B from 1 to N
 * (to the batch cap with truncated Poisson), with T = floor(C / (6 M B S)) steps. For each,
 * q = B / N, sigma is calibrated by dpipe's accountant (calibrateNoiseMultiplier), the
 * noise-batch ratio is sigma / B and the predicted loss is the law's at (M, T, sigma / B).
 * Candidates outside the law's grid (NaN) are dropped.
 *
 * Accounting: the grid is calibrated by RDP on the Poisson-sampled Gaussian (milliseconds per
 * candidate); the candidates within the near-optimal tolerance (at most `maxRefine`, lowest
 * loss first) are then recalibrated by PLD on the event training will run (truncated Poisson
 * when a batch cap is given). Both are valid upper bounds on epsilon: RDP's is looser, so
 * its sigma is larger (conservative: more noise than needed, a pessimistic predicted loss);
 * PLD's is tight (dpipe's PLD epsilon is a guaranteed upper bound, rounding included) and
 * gives the smaller sigma the recipe should use. Every plan says which accountant its sigma
 * comes from; with a batch cap the RDP figure is only a screen (RDP has no analysis of
 * truncation) and the reported plans are always PLD.
 *
 * The non-private optimum for comparison trains at the sweep's physical batch (without noise
 * the law does not depend on B except through T, and smaller batches would always win).
 */
import { Result } from "effect"
import { calibrateNoiseMultiplier, type Accountant } from "@dpipe/accounting/calibrate"
import { PlanError } from "./errors.ts"
import type { ScalingLaw } from "./law.ts"
import { predictLoss } from "./predict.ts"

export interface PlanRequest {
  readonly computeFlops: number
  readonly epsilon: number
  readonly delta: number
  /** N, the number of privacy units. */
  readonly datasetSize: number
  /** Truncated Poisson sampling with this batch cap (PLD accounting); B is kept <= the cap. */
  readonly batchCap?: number
  /** The accountant of the reported plans: "pld" (default, refines the near-optimal set) or "rdp" (no refinement). */
  readonly accountant?: Accountant
  /** Expected batch sizes to try; default `batchGridSize` log-spaced integers from 1 to N (or the cap). */
  readonly batchSizes?: ReadonlyArray<number>
  readonly batchGridSize?: number
  /** Relative tolerance of the near-optimal set; default 0.01. */
  readonly nearOptimalTolerance?: number
  /** At most this many candidates are recalibrated by PLD; default 6. */
  readonly maxRefine?: number
  /** See PredictOptions.belowNoiseGrid; default "nan". */
  readonly belowNoiseGrid?: "nan" | "clamp"
}

export interface Plan {
  readonly model: string
  readonly modelConfig: Readonly<Record<string, number>>
  readonly params: number
  readonly expectedBatchSize: number
  readonly steps: number
  readonly samplingRate: number
  readonly noiseMultiplier: number
  readonly noiseBatchRatio: number
  readonly predictedLoss: number
  /** 6 M B S T actually spent (<= the budget: T is rounded down). */
  readonly computeFlops: number
  /** The accountant's epsilon at this sigma (<= the target). */
  readonly epsilon: number
  readonly accountant: Accountant
  /** Tokens processed, B S T. */
  readonly tokens: number
}

export interface NonPrivatePlan {
  readonly model: string
  readonly modelConfig: Readonly<Record<string, number>>
  readonly params: number
  readonly expectedBatchSize: number
  readonly steps: number
  readonly noiseMultiplier: 0
  readonly noiseBatchRatio: 0
  readonly predictedLoss: number
  readonly computeFlops: number
  readonly tokens: number
}

export interface PlanResult {
  readonly best: Plan
  /** Every candidate within the tolerance of the best loss, lowest loss first (the best included). */
  readonly nearOptimal: ReadonlyArray<Plan>
  /** The smallest model, batch and steps found in the near-optimal set (the paper's Fig. 1 reading). */
  readonly smallestNearOptimal: { readonly params: number; readonly expectedBatchSize: number; readonly steps: number }
  /** The non-private optimum at the same compute; absent when the law has no non-private slice or nothing fits. */
  readonly nonPrivate?: NonPrivatePlan
  readonly request: {
    readonly computeFlops: number
    readonly epsilon: number
    readonly delta: number
    readonly datasetSize: number
    readonly batchCap?: number
  }
  readonly search: {
    readonly candidates: number
    readonly calibrated: number
    readonly inGrid: number
    readonly refined: number
    readonly gridAccountant: "rdp"
    readonly gridMs: number
    readonly refineMs: number
  }
}

const fail = (message: string): never => {
  throw new PlanError({ message })
}

/** n log-spaced integers from lo to hi (deduplicated, ascending). */
export const logIntegerGrid = (lo: number, hi: number, n: number): Array<number> => {
  const out = new Set<number>()
  for (let k = 0; k < n; k++) out.add(Math.round(Math.exp(Math.log(lo) + ((Math.log(hi) - Math.log(lo)) * k) / Math.max(1, n - 1))))
  return [...out].filter((b) => b >= lo && b <= hi).sort((a, b) => a - b)
}

const check = (r: PlanRequest) => {
  if (!(r.computeFlops > 0 && Number.isFinite(r.computeFlops))) fail(`computeFlops ${r.computeFlops} must be a positive number`)
  if (!(r.epsilon > 0 && Number.isFinite(r.epsilon))) fail(`epsilon ${r.epsilon} must be a positive number`)
  if (!(r.delta > 0 && r.delta < 1)) fail(`delta ${r.delta} must be in (0, 1)`)
  if (!(Number.isInteger(r.datasetSize) && r.datasetSize > 0)) fail(`datasetSize ${r.datasetSize} must be a positive integer (privacy units)`)
  if (r.batchCap !== undefined && !(Number.isInteger(r.batchCap) && r.batchCap > 0)) fail(`batchCap ${r.batchCap} must be a positive integer`)
}

/**
 * Plans a DP training run on a fitted law. Throws PlanError on bad input or when no
 * candidate lands inside the law's grid.
 */
export const planTraining = (law: ScalingLaw, request: PlanRequest): PlanResult => {
  check(request)
  const { computeFlops: C, epsilon, delta, datasetSize: N, batchCap } = request
  const S = law.sequenceLength
  const tolerance = request.nearOptimalTolerance ?? 0.01
  const finalAccountant: Accountant = batchCap !== undefined ? "pld" : (request.accountant ?? "pld")
  const maxBatch = Math.min(N, batchCap ?? N)
  const batches = (request.batchSizes ?? logIntegerGrid(1, maxBatch, request.batchGridSize ?? 64)).filter((b) => b >= 1 && b <= maxBatch)
  if (batches.length === 0) fail(`no expected batch size in [1, ${maxBatch}] to try`)
  const minSteps = Math.exp(law.grid.logSteps[0]!)
  const maxSteps = Math.exp(law.grid.logSteps[law.grid.logSteps.length - 1]!)
  const predictOptions = { belowNoiseGrid: request.belowNoiseGrid ?? "nan" } as const

  const calibrate = (accountant: Accountant, samplingRate: number, steps: number) => {
    const mechanism = accountant === "pld" && batchCap !== undefined ? { samplingRate, datasetSize: N, batchCap } : { samplingRate }
    return calibrateNoiseMultiplier({ accountant, mechanism, steps, epsilon, delta })
  }
  const planOf = (m: ScalingLaw["models"][number], B: number, T: number, sigma: number, eps: number, accountant: Accountant): Plan => {
    const noiseBatchRatio = sigma / B
    return {
      model: m.name,
      modelConfig: m.config,
      params: m.params,
      expectedBatchSize: B,
      steps: T,
      samplingRate: B / N,
      noiseMultiplier: sigma,
      noiseBatchRatio,
      predictedLoss: predictLoss(law, { params: m.params, steps: T, noiseBatchRatio }, predictOptions),
      computeFlops: 6 * m.params * B * S * T,
      epsilon: eps,
      accountant,
      tokens: B * S * T
    }
  }

  // RDP over the grid.
  const t0 = performance.now()
  let candidates = 0
  let calibrated = 0
  const stepRange = { min: Number.POSITIVE_INFINITY, max: 0 }
  const ratioRange = { min: Number.POSITIVE_INFINITY, max: 0 }
  const found: Array<Plan> = []
  for (const m of law.models) {
    for (const B of batches) {
      const T = Math.floor(C / (6 * m.params * B * S))
      candidates++
      if (T < 1) continue
      stepRange.min = Math.min(stepRange.min, T)
      stepRange.max = Math.max(stepRange.max, T)
      if (T < minSteps * (1 - 1e-12) || T > maxSteps * (1 + 1e-12)) continue
      const r = calibrate("rdp", B / N, T)
      calibrated++
      if (Result.isFailure(r)) continue
      const plan = planOf(m, B, T, r.success.noiseMultiplier, r.success.epsilon, "rdp")
      ratioRange.min = Math.min(ratioRange.min, plan.noiseBatchRatio)
      ratioRange.max = Math.max(ratioRange.max, plan.noiseBatchRatio)
      if (Number.isFinite(plan.predictedLoss)) found.push(plan)
    }
  }
  const gridMs = performance.now() - t0
  if (found.length === 0) {
    const g = law.grid
    const lawRange = `the law covers steps ${fmt(minSteps)}..${fmt(maxSteps)} and noise-batch ratios ${fmt(Math.exp(g.logNoiseBatchRatio[0]!))}..${fmt(Math.exp(g.logNoiseBatchRatio[g.logNoiseBatchRatio.length - 1]!))}`
    const seen = stepRange.max > 0 ? `the candidates had steps ${fmt(stepRange.min)}..${fmt(stepRange.max)}${ratioRange.max > 0 ? ` and noise-batch ratios ${fmt(ratioRange.min)}..${fmt(ratioRange.max)}` : ""}` : "no candidate has even one step"
    fail(`no (model, batch) spending ${fmt(C)} FLOPs at epsilon ${epsilon} lands inside the law's grid: ${seen}; ${lawRange}. Change the compute (steps scale with it) or the privacy budget, or fit a law on a sweep that covers these values`)
  }
  found.sort((a, b) => a.predictedLoss - b.predictedLoss)

  // PLD refinement of the near-optimal set.
  const t1 = performance.now()
  let refined = 0
  let plans = found
  if (finalAccountant === "pld") {
    const limit = found[0]!.predictedLoss * (1 + tolerance)
    const toRefine = found.filter((p) => p.predictedLoss <= limit).slice(0, request.maxRefine ?? 6)
    const replaced = new Map<Plan, Plan | undefined>()
    for (const p of toRefine) {
      const r = calibrate("pld", p.samplingRate, p.steps)
      refined++
      const m = law.models.find((x) => x.name === p.model)!
      replaced.set(p, Result.isSuccess(r) ? planOf(m, p.expectedBatchSize, p.steps, r.success.noiseMultiplier, r.success.epsilon, "pld") : undefined)
    }
    // With a batch cap the RDP sigmas are only a screen: keep the PLD-calibrated plans alone.
    plans = found
      .flatMap((p) => (replaced.has(p) ? [replaced.get(p)] : batchCap !== undefined ? [] : [p]))
      .filter((p): p is Plan => p !== undefined && Number.isFinite(p.predictedLoss))
      .sort((a, b) => a.predictedLoss - b.predictedLoss)
    if (plans.length === 0) fail(`PLD calibration failed for every near-optimal candidate (epsilon ${epsilon}, delta ${delta}); try a larger epsilon`)
  }
  const refineMs = performance.now() - t1
  const best = plans[0]!
  const nearOptimal = plans.filter((p) => p.predictedLoss <= best.predictedLoss * (1 + tolerance))

  // The non-private optimum at the same compute, at the physical batch.
  let nonPrivate: NonPrivatePlan | undefined
  if (law.nonPrivate !== undefined) {
    const b = law.physicalBatch
    for (const m of law.models) {
      const T = Math.floor(C / (6 * m.params * b * S))
      if (T < 1) continue
      const loss = predictLoss(law, { params: m.params, steps: T, noiseBatchRatio: 0 })
      if (!Number.isFinite(loss) || (nonPrivate !== undefined && loss >= nonPrivate.predictedLoss)) continue
      nonPrivate = {
        model: m.name,
        modelConfig: m.config,
        params: m.params,
        expectedBatchSize: b,
        steps: T,
        noiseMultiplier: 0,
        noiseBatchRatio: 0,
        predictedLoss: loss,
        computeFlops: 6 * m.params * b * S * T,
        tokens: b * S * T
      }
    }
  }

  return {
    best,
    nearOptimal,
    smallestNearOptimal: {
      params: Math.min(...nearOptimal.map((p) => p.params)),
      expectedBatchSize: Math.min(...nearOptimal.map((p) => p.expectedBatchSize)),
      steps: Math.min(...nearOptimal.map((p) => p.steps))
    },
    ...(nonPrivate !== undefined ? { nonPrivate } : {}),
    request: { computeFlops: C, epsilon, delta, datasetSize: N, ...(batchCap !== undefined ? { batchCap } : {}) },
    search: { candidates, calibrated, inGrid: found.length, refined, gridAccountant: "rdp", gridMs, refineMs }
  }
}

const fmt = (x: number): string => (Math.abs(x) >= 1e5 || (Math.abs(x) < 1e-3 && x !== 0) ? x.toExponential(3) : String(Number(x.toPrecision(4))))
