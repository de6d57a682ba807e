/**
 * Renyi DP of the Poisson-subsampled Gaussian mechanism, and of composed events.
 *
 * For P = (1-q) N(0, s^2) + q N(1, s^2) and Q = N(0, s^2) the RDP of order alpha is
 * log(A_alpha) / (alpha - 1) with A_alpha = E_Q[(P/Q)^alpha] (Mironov, Talwar, Zhang 2019,
 * "Renyi Differential Privacy of the Sampled Gaussian Mechanism", arXiv:1908.10530):
 * - integer alpha (Sec. 3.3, eq. for A_alpha by the binomial expansion):
 *     A = sum_{i=0..alpha} C(alpha,i) (1-q)^{alpha-i} q^i exp((i^2 - i) / (2 s^2));
 * - fractional alpha (Sec. 3.3, the two integrals split at z0 = s^2 log(1/q - 1) + 1/2):
 *     A = sum_{i>=0} C(alpha,i) [ q^i (1-q)^{alpha-i} e^{(i^2-i)/2s^2} erfc((i-z0)/(sqrt2 s))/2
 *                              + q^{alpha-i} (1-q)^i e^{((alpha-i)^2-(alpha-i))/2s^2} erfc((z0-(alpha-i))/(sqrt2 s))/2 ].
 * Both are summed in log space with signs. For fractional orders the default sums the
 * ABSOLUTE values of the terms, as dp_accounting does: an upper bound on A_alpha (slightly
 * loose: ~3e-6 relative at q=0.01, s=1; 3% of the tiny RDP at alpha=1.5, q=0.01, s=2.5).
 * Option "signed" sums the signed terms (as Opacus does), which converges to the integral
 * itself (checked against numerical integration in the tests). Orders whose series does not reach
 * its stopping threshold (terms below e^-30) within MAX_TERMS, or whose signed sum is not
 * positive, get RDP = +Infinity (they are skipped by the conversion), as in dp_accounting.
 * The Poisson event's RDP bounds the add/remove relation in both directions (Mironov et al.
 * Thm. 5 and Sec. 3.3). The plain Gaussian (q = 1) has RDP alpha / (2 s^2) (Mironov 2017,
 * "Renyi Differential Privacy", Prop. 7); under replace-one its sensitivity is 2, i.e. s/2.
 * Composition adds RDP order by order (Mironov 2017, Prop. 1). A private selection (best of K
 * runs) gets Papernot and Steinke 2022's bound on its trial's curve (hyperparameter-selection.ts).
 */
import { Result } from "effect"
import type { DpEvent, LeafEvent } from "@dpipe/accounting/events"
import { flattenEvent, selectionsOf } from "@dpipe/accounting/events"
import { selectionRdp } from "@dpipe/accounting/hyperparameter-selection"
import { UnsupportedEventError } from "@dpipe/accounting/errors"
import { logAddExp, logErfc, SIGNED_ZERO, signedLogAdd, type SignedLog } from "@dpipe/accounting/special"

/** dp_accounting's default orders: 1.1..10.9 step 0.1, 11..63, 128, 256, 512, 1024. */
export const DEFAULT_RDP_ORDERS: ReadonlyArray<number> = [
  ...Array.from({ length: 99 }, (_, i) => Math.round((1.1 + i * 0.1) * 10) / 10),
  ...Array.from({ length: 53 }, (_, i) => 11 + i),
  128,
  256,
  512,
  1024
]

const MAX_TERMS = 20_000
const LOG_STOP = -30

/** log A_alpha for integer alpha >= 1, 0 < q < 1. */
const logAInt = (q: number, sigma: number, alpha: number): number => {
  const logQ = Math.log(q)
  const log1mQ = Math.log1p(-q)
  let logA = -Infinity
  let logBinom = 0 // log C(alpha, 0)
  for (let i = 0; i <= alpha; i++) {
    if (i > 0) logBinom += Math.log((alpha - i + 1) / i)
    const s = logBinom + i * logQ + (alpha - i) * log1mQ + (i * i - i) / (2 * sigma * sigma)
    logA = logAddExp(logA, s)
  }
  return logA
}

/** log A_alpha for fractional alpha > 1, 0 < q < 1; NaN when the series fails. */
const logAFrac = (q: number, sigma: number, alpha: number, series: FractionalSeries): number => {
  const logQ = Math.log(q)
  const log1mQ = Math.log1p(-q)
  const z0 = sigma * sigma * Math.log(1 / q - 1) + 0.5
  const sq2s = Math.SQRT2 * sigma
  const twoS2 = 2 * sigma * sigma
  let a0: SignedLog = SIGNED_ZERO
  let a1: SignedLog = SIGNED_ZERO
  let logAbsCoef = 0 // log|C(alpha, i)|
  let sign: -1 | 1 = 1
  for (let i = 0; i < MAX_TERMS; i++) {
    if (i > 0) {
      const ratio = (alpha - i + 1) / i // C(alpha,i) = C(alpha,i-1) (alpha-i+1)/i
      logAbsCoef += Math.log(Math.abs(ratio))
      if (ratio < 0) sign = sign === 1 ? -1 : 1
    }
    const j = alpha - i
    const logT0 = logAbsCoef + i * logQ + j * log1mQ
    const logT1 = logAbsCoef + j * logQ + i * log1mQ
    const logE0 = Math.log(0.5) + logErfc((i - z0) / sq2s)
    const logE1 = Math.log(0.5) + logErfc((z0 - j) / sq2s)
    const logS0 = logT0 + (i * i - i) / twoS2 + logE0
    const logS1 = logT1 + (j * j - j) / twoS2 + logE1
    const termSign = series === "absolute" ? 1 : sign
    a0 = signedLogAdd(a0, termSign, logS0)
    a1 = signedLogAdd(a1, termSign, logS1)
    if (i > alpha && Math.max(logS0, logS1) < LOG_STOP) {
      if (a0.sign < 0 || a1.sign < 0) return Number.NaN
      return logAddExp(a0.sign > 0 ? a0.log : -Infinity, a1.sign > 0 ? a1.log : -Infinity)
    }
  }
  return Number.NaN
}

/**
 * How the fractional-order series is summed: "absolute" (dp_accounting; an upper bound on
 * A_alpha since |sum| <= sum of |terms|) or "signed" (Opacus; converges to A_alpha itself).
 */
export type FractionalSeries = "absolute" | "signed"

export interface RdpOptions {
  readonly orders?: ReadonlyArray<number>
  /** Default "absolute", matching dp_accounting's published values. */
  readonly fractionalSeries?: FractionalSeries
}

/**
 * RDP at each order of one Poisson-subsampled Gaussian step (rate q, noise multiplier
 * sigma, sensitivity 1, add/remove). q = 1 gives the plain Gaussian.
 */
export const rdpPoissonSubsampledGaussian = (
  q: number,
  sigma: number,
  orders: ReadonlyArray<number> = DEFAULT_RDP_ORDERS,
  series: FractionalSeries = "absolute"
): Float64Array => {
  const out = new Float64Array(orders.length)
  orders.forEach((alpha, k) => {
    if (q === 0) out[k] = 0
    else if (sigma === 0 || alpha === Infinity) out[k] = Infinity
    else if (q === 1) out[k] = alpha / (2 * sigma * sigma)
    else {
      const logA = Number.isInteger(alpha) ? logAInt(q, sigma, alpha) : logAFrac(q, sigma, alpha, series)
      out[k] = Number.isNaN(logA) ? Infinity : Math.max(0, logA / (alpha - 1))
    }
  })
  return out
}

/** RDP of one leaf event, or why it cannot be computed. */
export const rdpOfLeaf = (
  leaf: LeafEvent,
  options: RdpOptions = {}
): Result.Result<Float64Array, UnsupportedEventError> => {
  const orders = options.orders ?? DEFAULT_RDP_ORDERS
  const series = options.fractionalSeries ?? "absolute"
  switch (leaf._tag) {
    case "GaussianEvent": {
      const sigma = leaf.neighbouring === "replace_one" ? leaf.noiseMultiplier / 2 : leaf.noiseMultiplier
      return Result.succeed(rdpPoissonSubsampledGaussian(1, sigma, orders, series))
    }
    case "PoissonSampledGaussianEvent": {
      if (leaf.neighbouring === "replace_one" && leaf.samplingRate < 1) {
        return Result.fail(
          new UnsupportedEventError({
            accountant: "rdp",
            event: leaf._tag,
            message:
              "RDP has no replace-one analysis of the Poisson-subsampled Gaussian here; " +
              "record the step with neighbouring \"add_remove\" (the usual DP-SGD guarantee)"
          })
        )
      }
      const sigma = leaf.neighbouring === "replace_one" ? leaf.noiseMultiplier / 2 : leaf.noiseMultiplier
      return Result.succeed(rdpPoissonSubsampledGaussian(leaf.samplingRate, sigma, orders, series))
    }
    case "TruncatedPoissonSampledGaussianEvent":
      return Result.fail(
        new UnsupportedEventError({
          accountant: "rdp",
          event: leaf._tag,
          message:
            "RDP cannot account truncated Poisson batches (the batch cap changes the mechanism); " +
            "use the PLD accountant for this event"
        })
      )
    default:
      return leaf satisfies never
  }
}

/** Total RDP curve of a (composed) event: per-order sum over its leaves. */
export const rdpOfEvent = (
  event: DpEvent,
  options: RdpOptions = {}
): Result.Result<Float64Array, UnsupportedEventError> => {
  const total = new Float64Array((options.orders ?? DEFAULT_RDP_ORDERS).length)
  for (const { leaf, count } of flattenEvent(event)) {
    const r = rdpOfLeaf(leaf, options)
    if (Result.isFailure(r)) return r
    for (let k = 0; k < total.length; k++) total[k] = (total[k] ?? 0) + count * (r.success[k] ?? 0)
  }
  // A private selection (best of K trials) is accounted whole: Papernot and Steinke 2022's
  // bound on the trial's own curve (hyperparameter-selection.ts), composed like any event.
  for (const { selection, count } of selectionsOf(event)) {
    const trial = rdpOfEvent(selection.trial, options)
    if (Result.isFailure(trial)) return trial
    const sel = selectionRdp(options.orders ?? DEFAULT_RDP_ORDERS, trial.success, selection.trials)
    if (Result.isFailure(sel)) return Result.fail(new UnsupportedEventError({ accountant: "rdp", event: selection._tag, message: sel.failure.message }))
    for (let k = 0; k < total.length; k++) total[k] = (total[k] ?? 0) + count * (sel.success[k] ?? 0)
  }
  return Result.succeed(total)
}
