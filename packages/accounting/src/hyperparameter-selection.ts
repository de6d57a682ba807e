/**
 * Private hyperparameter selection: the RDP of "run a randomized training algorithm Q a
 * random number K of times and release only the best run" (Papernot and Steinke 2022,
 * "Hyperparameter Tuning with Renyi Differential Privacy", ICLR 2022, arXiv:2110.03620).
 * Each run of Q picks its hyperparameters at random (independently of the data) and
 * trains; Q's RDP curve is the per-order maximum over the candidates' curves (Renyi
 * divergence is jointly quasi-convex, so a data-independent mixture is no worse than its
 * worst component). The number of runs K must itself stay secret: only the best run and
 * its score are released.
 *
 * Distributions of K (`TrialCount`):
 * - truncated negative binomial D_{eta,gamma}, eta > -1, 0 < gamma < 1 (Sec. 2):
 *     P[K = k] = (1-gamma)^k / (gamma^{-eta} - 1) * prod_{l=0}^{k-1} (l + eta) / (l + 1),  k >= 1
 *   (eta = 0: the logarithmic distribution P[K = k] = (1-gamma)^k / (k log(1/gamma)); eta = 1:
 *   the geometric distribution with E[K] = 1/gamma), with
 *     E[K] = eta (1-gamma) / (gamma (1 - gamma^eta))   (eta != 0),  (1/gamma - 1) / log(1/gamma)  (eta = 0);
 *   Theorem 2: if Q is (lambda, eps)-RDP and (lambdaHat, epsHat)-RDP (lambda > 1, lambdaHat >= 1),
 *   the selection is (lambda, eps')-RDP with
 *     eps' = eps + (1+eta)(1 - 1/lambdaHat) epsHat + (1+eta) log(1/gamma) / lambdaHat + log(E[K]) / (lambda - 1).
 *   dpipe minimises over lambdaHat in {1} and the orders; at lambdaHat = 1 the epsHat term is 0
 *   and only needs the trial's KL divergence to be finite, which holds when its RDP at the
 *   smallest order is finite (RDP is non-decreasing in the order).
 * - Poisson with mean mu > 0 (K = 0 releases nothing): Theorem 6: if Q is (lambda, eps)-RDP
 *   and (epsHat, deltaHat)-DP with e^epsHat <= 1 + 1/(lambda - 1), the selection is
 *   (lambda, eps')-RDP with eps' = eps + mu deltaHat + log(mu) / (lambda - 1). dpipe takes
 *   epsHat = log(1 + 1/(lambda - 1)) and deltaHat from the trial's RDP curve
 *   (rdp-conversion.ts, improved conversion).
 * - fixed K = k: best-of-k is post-processing of k runs, so its RDP is k times Q's
 *   (composition, Mironov 2017 Prop. 1); K = 1 is one trial.
 *
 * Pure functions of RDP curves: no dependence on how the trial's curve was computed.
 */
import { Result, Schema } from "effect"
import { InvalidAccountingParameterError } from "@dpipe/accounting/errors"
import { deltaFromRdp } from "@dpipe/accounting/rdp-conversion"

export const TruncatedNegativeBinomial = Schema.TaggedStruct("TruncatedNegativeBinomial", {
  eta: Schema.Finite.check(Schema.isGreaterThan(-1)),
  gamma: Schema.Finite.check(Schema.isGreaterThan(0), Schema.isLessThan(1))
})
export const PoissonTrials = Schema.TaggedStruct("PoissonTrials", {
  mean: Schema.Finite.check(Schema.isGreaterThan(0))
})
export const FixedTrials = Schema.TaggedStruct("FixedTrials", {
  count: Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))
})
/** How the number of trials K is drawn. */
export const TrialCount = Schema.Union([TruncatedNegativeBinomial, PoissonTrials, FixedTrials])
export type TrialCount = typeof TrialCount.Type

export const truncatedNegativeBinomial = (eta: number, gamma: number): TrialCount => ({ _tag: "TruncatedNegativeBinomial", eta, gamma })
/** The geometric distribution (eta = 1) with mean `mean` >= 1: gamma = 1 / mean. */
export const geometricTrials = (mean: number): TrialCount => ({ _tag: "TruncatedNegativeBinomial", eta: 1, gamma: 1 / mean })
export const poissonTrials = (mean: number): TrialCount => ({ _tag: "PoissonTrials", mean })
export const fixedTrials = (count: number): TrialCount => ({ _tag: "FixedTrials", count })

const invalid = (parameter: string, value: number, message: string) =>
  Result.fail(new InvalidAccountingParameterError({ parameter, value, message }))

/** Why a distribution is out of its domain, or undefined. */
const checkCount = (d: TrialCount): Result.Result<TrialCount, InvalidAccountingParameterError> => {
  switch (d._tag) {
    case "TruncatedNegativeBinomial":
      if (!(d.eta > -1) || !Number.isFinite(d.eta)) return invalid("eta", d.eta, `the truncated negative binomial needs eta > -1 (eta = 1 is geometric), got ${d.eta}`)
      if (!(d.gamma > 0 && d.gamma < 1)) return invalid("gamma", d.gamma, `the truncated negative binomial needs 0 < gamma < 1 (smaller gamma: more trials), got ${d.gamma}`)
      return Result.succeed(d)
    case "PoissonTrials":
      if (!(d.mean > 0) || !Number.isFinite(d.mean)) return invalid("mean", d.mean, `the Poisson number of trials needs a finite mean > 0, got ${d.mean}`)
      return Result.succeed(d)
    case "FixedTrials":
      if (!Number.isInteger(d.count) || d.count < 1) return invalid("count", d.count, `a fixed number of trials must be an integer >= 1, got ${d.count}`)
      return Result.succeed(d)
    default:
      return d satisfies never
  }
}

/** E[K]. */
export const expectedTrials = (d: TrialCount): number => {
  switch (d._tag) {
    case "TruncatedNegativeBinomial":
      return d.eta === 0 ? (1 / d.gamma - 1) / Math.log(1 / d.gamma) : (d.eta * (1 - d.gamma)) / (d.gamma * (1 - Math.pow(d.gamma, d.eta)))
    case "PoissonTrials":
      return d.mean
    case "FixedTrials":
      return d.count
    default:
      return d satisfies never
  }
}

/** log P[K = k]. */
export const logTrialCountPmf = (d: TrialCount, k: number): number => {
  if (!Number.isInteger(k) || k < 0) return -Infinity
  switch (d._tag) {
    case "TruncatedNegativeBinomial": {
      if (k === 0) return -Infinity
      const log1mG = Math.log1p(-d.gamma)
      if (d.eta === 0) return k * log1mG - Math.log(k) - Math.log(-Math.log(d.gamma))
      // prod_{l<k} (l + eta) / (l + 1) and gamma^{-eta} - 1 have the same sign for -1 < eta < 0.
      let logProd = 0
      for (let l = 0; l < k; l++) logProd += Math.log(Math.abs((l + d.eta) / (l + 1)))
      return k * log1mG + logProd - Math.log(Math.abs(Math.expm1(-d.eta * Math.log(d.gamma))))
    }
    case "PoissonTrials": {
      let logFact = 0
      for (let i = 2; i <= k; i++) logFact += Math.log(i)
      return -d.mean + k * Math.log(d.mean) - logFact
    }
    case "FixedTrials":
      return k === d.count ? 0 : -Infinity
    default:
      return d satisfies never
  }
}

/**
 * K drawn by inverting the CDF at `uniform` in [0, 1) (pass a draw of the keyed CSPRNG,
 * docs/privacy.md, P7). Capped at `maxTrials` (default 1e6): the tail beyond it has
 * probability below 1e-12 for every distribution a sweep would use.
 */
export const sampleTrialCount = (d: TrialCount, uniform: number, maxTrials = 1_000_000): number => {
  if (d._tag === "FixedTrials") return d.count
  let cdf = 0
  for (let k = d._tag === "PoissonTrials" ? 0 : 1; k < maxTrials; k++) {
    cdf += Math.exp(logTrialCountPmf(d, k))
    if (uniform < cdf) return k
  }
  return maxTrials
}

/**
 * min over lambdaHat in {1} and the orders of (1+eta)(1 - 1/lambdaHat) epsHat + (1+eta) log(1/gamma) / lambdaHat
 * (Theorem 2's middle terms; they do not depend on lambda).
 */
const tnbMiddle = (d: { readonly eta: number; readonly gamma: number }, orders: ReadonlyArray<number>, rdp: ArrayLike<number>): number => {
  const logInvGamma = -Math.log(d.gamma)
  // lambdaHat = 1: needs a finite KL divergence, bounded by the RDP at the smallest order.
  let smallest = Infinity
  let smallestRdp = Infinity
  orders.forEach((a, k) => {
    if (a >= 1 && a < smallest) (smallest = a), (smallestRdp = rdp[k] as number)
  })
  let best = smallestRdp >= 0 && Number.isFinite(smallestRdp) ? (1 + d.eta) * logInvGamma : Infinity
  orders.forEach((lh, k) => {
    const e = rdp[k] as number
    if (!(lh >= 1) || !(e >= 0) || e === Infinity) return
    const v = (1 + d.eta) * (1 - 1 / lh) * e + ((1 + d.eta) * logInvGamma) / lh
    if (v < best) best = v
  })
  return best
}

/**
 * RDP curve (at `orders`) of releasing the best of K runs of a trial whose RDP curve is
 * `trialRdp` (at the same orders). Orders <= 1 get +Infinity (the theorems need lambda > 1).
 */
export const selectionRdp = (
  orders: ReadonlyArray<number>,
  trialRdp: ArrayLike<number>,
  count: TrialCount
): Result.Result<Float64Array, InvalidAccountingParameterError> => {
  const checked = checkCount(count)
  if (Result.isFailure(checked)) return Result.fail(checked.failure)
  if (trialRdp.length !== orders.length) return invalid("trialRdp", trialRdp.length, `the trial's RDP curve has ${trialRdp.length} values for ${orders.length} orders: compute it at the same orders`)
  const d = checked.success
  const out = new Float64Array(orders.length)
  switch (d._tag) {
    case "FixedTrials":
      for (let i = 0; i < orders.length; i++) out[i] = d.count * (trialRdp[i] as number)
      return Result.succeed(out)
    case "TruncatedNegativeBinomial": {
      const logMeanK = Math.log(expectedTrials(d))
      const middle = tnbMiddle(d, orders, trialRdp)
      for (let i = 0; i < orders.length; i++) {
        const lambda = orders[i] as number
        const eps = trialRdp[i] as number
        out[i] = !(lambda > 1) || !(eps >= 0) || eps === Infinity ? Infinity : eps + middle + logMeanK / (lambda - 1)
      }
      return Result.succeed(out)
    }
    case "PoissonTrials": {
      for (let i = 0; i < orders.length; i++) {
        const lambda = orders[i] as number
        const eps = trialRdp[i] as number
        if (!(lambda > 1) || !(eps >= 0) || eps === Infinity) {
          out[i] = Infinity
          continue
        }
        const epsHat = Math.log1p(1 / (lambda - 1))
        const deltaHat = deltaFromRdp(orders, trialRdp, epsHat).delta
        out[i] = eps + d.mean * deltaHat + Math.log(d.mean) / (lambda - 1)
      }
      return Result.succeed(out)
    }
    default:
      return d satisfies never
  }
}

/**
 * Human-readable name of a distribution, for statements ("geometric, E[K] = 4", ...).
 */
export const describeTrialCount = (d: TrialCount): string => {
  switch (d._tag) {
    case "TruncatedNegativeBinomial": {
      const mean = expectedTrials(d).toPrecision(4)
      if (d.eta === 1) return `geometric (gamma ${Number(d.gamma.toPrecision(4))}), E[K] = ${mean}`
      if (d.eta === 0) return `logarithmic (gamma ${Number(d.gamma.toPrecision(4))}), E[K] = ${mean}`
      return `truncated negative binomial (eta ${d.eta}, gamma ${Number(d.gamma.toPrecision(4))}), E[K] = ${mean}`
    }
    case "PoissonTrials":
      return `Poisson, E[K] = ${d.mean}`
    case "FixedTrials":
      return `fixed, K = ${d.count}`
    default:
      return d satisfies never
  }
}
