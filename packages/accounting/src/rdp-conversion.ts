/**
 * Conversion of an RDP curve to (epsilon, delta)-DP.
 *
 * - "improved" (default; Balle, Barthe, Gaboardi, Hsu, Sato 2020, "Hypothesis testing
 *   interpretations and Renyi differential privacy", arXiv:2004.00010, Prop. 12; also
 *   Asoodeh et al. 2020, arXiv:2001.05990 eq. 20), as dp_accounting computes it:
 *     eps(alpha) = rdp + log1p(-1/alpha) - log(delta * alpha) / (alpha - 1)   (alpha > 1.01),
 *     eps = 0 when delta^2 + expm1(-rdp) > 0 (the KL bound delta <= sqrt(1 - e^{-KL}));
 *   delta(alpha) = exp((alpha-1)(rdp - eps + log1p(-1/alpha)) - log(alpha)), also bounded
 *   by sqrt(1 - e^{-rdp}).
 * - "classic" (Mironov 2017, "Renyi Differential Privacy", Prop. 3):
 *     eps(alpha) = rdp + log(1/delta) / (alpha - 1),  delta(alpha) = exp((alpha-1)(rdp - eps)).
 * The best order is returned with the value; orders with infinite RDP are skipped.
 */
export type RdpConversion = "improved" | "classic"

export interface RdpEpsilon {
  readonly epsilon: number
  readonly order: number
}

export interface RdpDelta {
  readonly delta: number
  readonly order: number
}

/** Smallest epsilon over orders for the given delta in (0, 1). */
export const epsilonFromRdp = (
  orders: ReadonlyArray<number>,
  rdp: ArrayLike<number>,
  delta: number,
  conversion: RdpConversion = "improved"
): RdpEpsilon => {
  let best = Infinity
  let bestOrder = orders[0] ?? Number.NaN
  orders.forEach((a, k) => {
    const r = rdp[k] ?? Infinity
    if (!(r >= 0) || r === Infinity || !(a >= 1)) return
    let eps: number
    if (conversion === "classic") {
      eps = a > 1 ? r + Math.log(1 / delta) / (a - 1) : Infinity
    } else if (delta * delta + Math.expm1(-r) > 0) {
      eps = 0
    } else if (a > 1.01) {
      eps = r + Math.log1p(-1 / a) - Math.log(delta * a) / (a - 1)
    } else {
      eps = Infinity
    }
    if (eps < best) {
      best = eps
      bestOrder = a
    }
  })
  return { epsilon: Math.max(0, best), order: bestOrder }
}

/** Smallest delta over orders for the given epsilon >= 0. */
export const deltaFromRdp = (
  orders: ReadonlyArray<number>,
  rdp: ArrayLike<number>,
  epsilon: number,
  conversion: RdpConversion = "improved"
): RdpDelta => {
  let bestLog = Infinity
  let bestOrder = orders[0] ?? Number.NaN
  orders.forEach((a, k) => {
    const r = rdp[k] ?? Infinity
    if (!(r >= 0) || r === Infinity || !(a >= 1)) return
    let logDelta: number
    if (conversion === "classic") {
      logDelta = a > 1 ? (a - 1) * (r - epsilon) : Infinity
    } else {
      logDelta = r === 0 ? -Infinity : 0.5 * Math.log1p(-Math.exp(-r))
      if (a > 1.01) logDelta = Math.min(logDelta, (a - 1) * (r - epsilon + Math.log1p(-1 / a)) - Math.log(a))
    }
    if (logDelta < bestLog) {
      bestLog = logDelta
      bestOrder = a
    }
  })
  return { delta: Math.min(1, Math.exp(bestLog)), order: bestOrder }
}
