/**
 * White-box gradient canaries for one-run privacy auditing (Steinke, Nasr and Jagielski
 * 2023, "Privacy Auditing with One (1) Training Run", NeurIPS 2023, Sec. 6: "Dirac canary"
 * gradients). Each of m canaries is a training example whose per-example gradient is a
 * Dirac vector: the clip norm C on one parameter coordinate, 0 elsewhere (its norm is C, so
 * clipping leaves it as it is and it is exactly as sensitive as any clipped example).
 *
 * - Which canaries are in the training set: each independently with probability 1/2,
 *   from the keyed CSPRNG (domain `audit-canaries`, counter 1; docs/privacy.md, P7).
 *   Their coordinates: m distinct parameter indices (domain `audit-canaries`, counter 0).
 * - An included canary joins step t's batch like every other example: Poisson sampling at
 *   the run's rate q (domain `audit-sampler`, counter t). The trainer's `addToSum` hook adds
 *   C at its coordinate to the clipped sum before the noise (train/loop.ts), so the DP
 *   step treats it as one more example of the dataset.
 * - Score: the white-box auditor sees every step's released (noisy, normalised) gradient,
 *   read through the trainer's `inspectGradient` hook: exactly what DP-SGD's accounting
 *   covers, so any function of it (and of the canaries' coins) is post-processing of the
 *   accounted release. For each canary it keeps the series x_t of the released gradient at
 *   its coordinate and scores it by the log-likelihood ratio of "in" against "out":
 *     score = sum_t log(1 - q + q exp((z_t s - s^2 / 2) / tau^2)),   z_t = x_t - median(x),
 *   tau = 1.4826 MAD(x) (the series' robust spread: the noise sigma C / (q N) in a DP run, the
 *   batch-to-batch variation of the real gradients in a non-private one) and s the spike one
 *   sampled canary adds (C / (q N)). Each step is then Gaussian with a spike of size s in a
 *   fraction q of the steps: for DP-SGD's noise this is the Neyman-Pearson test. The plain
 *   sum of x_t (`scores`) is kept too; it loses to the real gradients' drift when there is no
 *   noise.
 */
import { keyedStream } from "@dpipe/random/keyed-random"

export interface AuditCanaryPlan {
  /** Parameter index of each canary's Dirac gradient (distinct). */
  readonly coordinates: Int32Array
  /** Whether each canary is in the training set (probability 1/2 each). */
  readonly included: ReadonlyArray<boolean>
}

/** The canaries' coordinates and inclusion, a pure function of (key, count, parameter count). */
export const planAuditCanaries = (key: Uint8Array, count: number, parameterCount: number): AuditCanaryPlan => {
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`the audit needs at least one canary, got ${count}`)
  if (count > parameterCount) throw new RangeError(`${count} Dirac canaries need ${count} distinct coordinates but the model has ${parameterCount} parameters: use fewer canaries`)
  const places = keyedStream(key, "audit-canaries", 0)
  const taken = new Set<number>()
  const coordinates = new Int32Array(count)
  for (let j = 0; j < count; j++) {
    let c: number
    do c = Math.floor(places.uniform() * parameterCount)
    while (taken.has(c))
    taken.add(c)
    coordinates[j] = c
  }
  const coins = keyedStream(key, "audit-canaries", 1)
  const included = Array.from({ length: count }, () => coins.uniform() < 0.5)
  return { coordinates, included }
}

/** Adds the canaries to the trainer's steps and scores them from the released gradients. */
export class CanaryAuditor {
  readonly scores: Float64Array
  /** Steps in which each canary was in the batch (private to the auditor's bookkeeping). */
  readonly appearances: Int32Array
  readonly plan: AuditCanaryPlan
  private readonly key: Uint8Array
  private readonly samplingRate: number
  private readonly clipNorm: number

  constructor(plan: AuditCanaryPlan, key: Uint8Array, samplingRate: number, clipNorm: number) {
    this.plan = plan
    this.key = key
    this.samplingRate = samplingRate
    this.clipNorm = clipNorm
    if (!(samplingRate > 0 && samplingRate <= 1)) throw new RangeError(`sampling rate must be in (0, 1], got ${samplingRate}`)
    if (!(clipNorm > 0 && Number.isFinite(clipNorm))) throw new RangeError(`the canaries' gradient norm must be a positive number, got ${clipNorm}`)
    this.scores = new Float64Array(plan.coordinates.length)
    this.appearances = new Int32Array(plan.coordinates.length)
    for (let j = 0; j < plan.coordinates.length; j++) this.series.push([])
  }

  /**
   * The trainer's `addToSum` hook: each included canary joins step `step` with probability q
   * and adds C at its coordinate. Returns how many joined.
   */
  readonly addToSum = (step: number, sum: Float64Array): number => {
    const s = keyedStream(this.key, "audit-sampler", step)
    let added = 0
    const { coordinates, included } = this.plan
    for (let j = 0; j < coordinates.length; j++) {
      const u = s.uniform() // drawn for every canary, so membership does not shift the stream
      if (included[j] === true && u < this.samplingRate) {
        const c = coordinates[j] as number
        sum[c] = (sum[c] as number) + this.clipNorm
        this.appearances[j] = (this.appearances[j] as number) + 1
        added++
      }
    }
    return added
  }

  /** The trainer's `inspectGradient` hook: accumulates the released gradient at each canary's coordinate. */
  readonly observe = (_step: number, grad: Float32Array): void => {
    const { coordinates } = this.plan
    for (let j = 0; j < coordinates.length; j++) {
      const x = grad[coordinates[j] as number] as number
      this.scores[j] = (this.scores[j] as number) + x
      ;(this.series[j] as Array<number>).push(x)
    }
  }

  private readonly series: Array<Array<number>> = []

  /**
   * The log-likelihood-ratio score of each canary (see the header). `spike(tau)` gives the
   * size s of one sampled canary in the released gradient, given the series' spread tau.
   */
  likelihoodScores(spike: (tau: number) => number): Float64Array {
    const q = this.samplingRate
    const out = new Float64Array(this.plan.coordinates.length)
    const logStay = Math.log1p(-Math.min(q, 1 - 1e-12))
    const logJoin = Math.log(q)
    this.series.forEach((xs, j) => {
      const med = median(xs)
      const tau = Math.max(1.4826 * median(xs.map((x) => Math.abs(x - med))), 1e-12)
      const s = spike(tau)
      let score = 0
      for (const x of xs) {
        const a = ((x - med) * s - (s * s) / 2) / (tau * tau)
        const hi = Math.max(logStay, logJoin + a)
        score += hi + Math.log(Math.exp(logStay - hi) + Math.exp(logJoin + a - hi))
      }
      out[j] = score
    })
    return out
  }
}

const median = (xs: ReadonlyArray<number>): number => {
  if (xs.length === 0) return 0
  const s = [...xs].sort((a, b) => a - b)
  const mid = s.length >> 1
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2
}
