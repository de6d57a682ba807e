/**
 * Composition of PLDs (privacy losses add: the PMFs convolve), as a GUARANTEED upper bound.
 *
 * dp_accounting composes by float64 FFT and trusts the result; at T = 1e5 and delta = 1.1e-10
 * its epsilon drifts by about +-0.02 and is not monotone in the dataset size (docs/privacy.md, A3).
 * Here every floating-point step is bounded and pushed in the pessimistic direction, so the
 * composed PLD dominates the exact composition of the discretized leaf PLDs:
 *
 * Invariant (tail dominance). Measures live on the grid (lo + i) h plus an atom at +infinity.
 * R dominates X when R([x, +inf]) >= X([x, +inf]) for every x (total mass included). Exact
 * convolution preserves it (R*S([x,inf]) = int R([x - y, inf]) dS(y), monotone in R and in S),
 * moving mass up preserves it, and the hockey-stick delta(eps) = int (1 - e^{eps - l})_+ dR
 * is monotone under it (the integrand is non-decreasing and non-negative, 1 at +inf). So if
 * every computed intermediate dominates the exact convolution of its computed operands, the
 * final delta (and the epsilon read from it) is an upper bound.
 *
 * 1. Exponential tilting against the dynamic range (chernoff.ts, internal/tilted.ts). FFT errors are absolute, relative to the
 *    largest entry, while delta ~ 1e-10 lives in tail entries ~1e-14. Convolution commutes with
 *    tilting, (a*b)_i e^{lambda l_i} = (a~ * b~)_i, so we convolve a~_i = a_i e^{lambda l_i},
 *    lambda in [0, cap] minimizing the Chernoff exponent sum_e T_e log M_e(lambda) - lambda
 *    eps_focus: the tilted composition peaks near the epsilon of interest. Weights are stored
 *    as w_i with a_i = w_i 2^p e^{-lambda l_i}, p an integer, so that renormalizing (by a power
 *    of two) and combining scales (p_a + p_b) are exact; only the conversions between w and
 *    a_i round, and they round up (factor K, see untiltUpper).
 * 2. FFT rounding (upper-convolution.ts). Each convolution is computed by the radix-2 FFT of
 *    fft.ts, whose error has a proved bound (Higham 2002, Thm. 24.2); convolutionErrorBound
 *    turns it into a bound E on
 *    every entry of the computed convolution (|c^_i - c_i| <= E), from the operands' 1- and
 *    2-norms. Every entry of the support becomes c^_i + E, rounded up: an elementwise upper
 *    bound of the exact convolution. (The previous version zeroed entries below a "noise floor"
 *    and assumed their error was below it: not a bound.)
 * 2b. Spiky operands. E scales with ||a||_1 ||b||_2, and one step of a subsampled Gaussian at a
 *    small rate is a spike (mass ~1 within a few grid steps of 0) next to a long tail ~1e-10
 *    below it per entry, which E would swamp (at VaultGemma's scale this cost ~0.06 in
 *    epsilon). So a narrow head (up to HEAD_MAX entries around the largest one, when it holds
 *    at least half the weight) is split off: head_a * b + tail_a * head_b is summed directly
 *    (non-negative terms: relative error gamma_k, rounded up) and only tail_a * tail_b goes
 *    through the FFT, whose E is then relative to the tails.
 * 3. Mass budget. The exact convolution's finite mass is at most M = mass_a * mass_b. Walking
 *    down from the top, entries are kept while their cumulative (untilted, rounded-up) mass is
 *    below M; the entry where it reaches M gets the remainder and everything below is dropped.
 *    The result still dominates (above the cut elementwise; at and below the cut its tail is M).
 *    This is what keeps the E added in step 2 from spreading the support downwards forever:
 *    E becomes huge once untilted at very negative losses, and is cut there.
 * 4. Tails: the top segment of mass <= tau goes to +infinity. A PLD of s steps enters the final
 *    one at most T/s times (T the total count), and so does what was cut from it; with
 *    tau = tailMass s / (2 T C) for C convolutions the mass sent to +infinity stays below
 *    tailMass / 2 in total (later, larger PLDs may cut more). Leaf PLDs are trimmed the same
 *    way before the first convolution. The bottom segment of mass <= tau, and the segment whose
 *    tilted weight stays below LOWER_BUDGET, and anything beyond MAX_SUPPORT entries below the
 *    top, is moved UP to the lowest kept entry (dp_accounting discards lower-tail mass).
 *
 * Sums of n non-negative floats are within gamma_{n-1} (Higham, eq. 4.4) of the exact sum and
 * are inflated accordingly wherever they feed a bound. What remains assumed, each tested or
 * documented where it is used: erfc within 5e-14 relative (special.ts, checked against 200
 * digits), Math.exp / log / expm1 / cos / sin within one ulp (V8's fdlibm ports; the FFT's
 * twiddles are checked to 45 digits), and, for truncated Poisson events only, the binomial
 * weights of pld.ts's mixture (computed through log Gamma, ~1e-13 relative).
 */
import type { PldPair, PldPmf } from "@dpipe/accounting/pld"
import { chooseLambda } from "@dpipe/accounting/chernoff"
import { sumLower, sumUpper, UP } from "@dpipe/accounting/internal/rounding"
import { exponentOf, scalePow2, tilt, tiltOneUpper, untilt, untiltUpper, type Tilted } from "@dpipe/accounting/internal/tilted"
import { convolveUpper } from "@dpipe/accounting/upper-convolution"

/** Longest support kept per direction (bounds memory: FFT length <= 2 * MAX_SUPPORT). */
export const MAX_SUPPORT = 2 ** 20

export interface CompositionOptions {
  /**
   * Total mass that tail truncation may move to +infinity over the whole composition (it adds
   * directly to delta). Each convolution gets tailMass / (total count), because mass cut at an
   * early level is multiplied by the later squarings. Default 1e-14.
   */
  readonly tailMass?: number
  /** Privacy loss at which the tilt is optimized (the epsilon of interest). */
  readonly focusEpsilon?: number
}

export interface CompositionStats {
  convolutions: number
  lambdaRemove: number
  lambdaAdd: number
  /** largest support (entries per direction) met during the composition */
  maxSupport: number
  /** grid step of the composition (the accountant may coarsen the requested one to bound memory) */
  valueDiscretization: number
  /** largest per-entry FFT rounding bound E met, relative to the largest tilted entry */
  maxRoundingBound: number
}

type Pair = readonly [Tilted, Tilted]

/** Tilted weight (relative) that moving the lower tail up may add per convolution. */
const LOWER_BUDGET = 1e-9

/**
 * Turns one direction of a computed convolution into a dominating Tilted (steps 2-4 of the
 * header). `out` is the inverse FFT output (interleaved), `part` 0 or 1 the direction.
 */
const bound = (
  v: Float64Array,
  x: Tilted,
  y: Tilted,
  lambda: number,
  h: number,
  tailMass: number
): Tilted => {
  const len = v.length
  const lo = x.lo + y.lo
  const p = x.p + y.p
  // untilted upper bounds u_i >= a_i (real value of v_i) >= u_i / K^2
  const u = new Float64Array(len)
  const K = untiltUpper(v, lo, p, lambda, h, u)
  const K2 = K * K
  const M = x.mass * y.mass * UP * UP
  const infIn = (x.inf * (y.mass + y.inf) + y.inf * x.mass) * UP * UP * UP
  // 4a. upper tail to +infinity
  let hi = len - 1
  let up = 0
  while (hi > 0 && up + u[hi]! <= tailMass) up += u[hi--]!
  // 3. mass budget: walk down until the cumulative mass (including what went up) reaches M
  let cum = up
  let cut = -1
  let remainder = 0
  for (let i = hi; i >= 0; i--) {
    const next = cum + u[i]!
    if (next >= M) {
      cut = i
      // the real mass above i is at least sumLower(cum) / K^2; the tail at i must reach M
      remainder = Math.max(0, (M - sumLower(cum, len) / K2) * UP)
      break
    }
    cum = next
  }
  let bottom = 0
  if (cut >= 0) {
    bottom = cut
    u[cut] = remainder // the cut entry now holds the remainder
  }
  // 4b. lower tail and support limit: mass moved up to the lowest kept entry, while its tilted
  // weight there stays below LOWER_BUDGET of the total tilted weight (relative change of
  // anything computed from the tilted measure <= LOWER_BUDGET; validity does not depend on it)
  let tiltedTotal = 0
  for (let i = bottom; i <= hi; i++) tiltedTotal += v[i]!
  const budget = LOWER_BUDGET * tiltedTotal
  let low = bottom
  let down = 0
  while (low < hi) {
    const next = down + u[low]!
    if (!(next <= tailMass || tiltOneUpper(next, (lo + low + 1) * h, p, lambda) <= budget)) break
    down = next
    low++
  }
  while (hi - low + 1 > MAX_SUPPORT) down += u[low++]!
  const kept = v.slice(low, hi + 1)
  if (cut >= 0 && cut >= low) kept[cut - low] = tiltOneUpper(remainder, (lo + cut) * h, p, lambda)
  // moved mass: real masses of v over [bottom, low) (the cut entry counted at its remainder)
  let moved = 0
  if (low > bottom) {
    let s = 0
    for (let i = bottom; i < low; i++) s += i === cut ? 0 : u[i]!
    moved = (sumUpper(s, low - bottom) + (cut >= 0 && cut < low ? remainder : 0)) * UP
    kept[0] = (kept[0]! + tiltOneUpper(moved, (lo + low) * h, p, lambda)) * UP
  }
  // finite mass of the result, from above (a weight from tiltOneUpper stands for at most K^2
  // times the mass it was made from)
  let s = 0
  for (let i = low; i <= hi; i++) s += i === cut ? 0 : u[i]!
  const mass = (sumUpper(s, hi - low + 1) + ((cut >= low ? remainder : 0) + moved) * K2 * UP) * UP
  let max = 0
  for (let i = 0; i < kept.length; i++) max = Math.max(max, kept[i]!)
  const e = max > 0 ? exponentOf(max) : 0
  scalePow2(kept, e)
  return { lo: lo + low, w: kept, p: p + e, mass, inf: (infIn + sumUpper(up, len)) * UP }
}

/** The unit measure (mass 1 at loss 0): convolving with it is the identity. */
const UNIT: Tilted = { lo: 0, w: Float64Array.of(1), p: 0, mass: 1, inf: 0 }

/** A leaf's tails trimmed like a convolution's (steps 3-4 of the header), before composing. */
const trim = (t: Tilted, lambda: number, h: number, tailMass: number): Tilted =>
  t.w.length <= 1 ? t : bound(t.w.slice(), t, UNIT, lambda, h, tailMass)

/**
 * Convolves (a0 * b0, a1 * b1): heads directly, tails with one packed forward FFT per operand
 * and one inverse, then bounds each direction (see the header).
 */
const convolvePair = (
  a: Pair,
  b: Pair | "square",
  lambdas: readonly [number, number],
  h: number,
  tailMass: number,
  stats: CompositionStats
): Pair => {
  const [a0, a1] = a
  const [b0, b1] = b === "square" ? a : b
  const { upper, roundingBound } = convolveUpper([a0.w, a1.w], b === "square" ? "square" : [b0.w, b1.w])
  stats.convolutions++
  const direction = (d: 0 | 1, x: Tilted, y: Tilted): Tilted => {
    const v = upper[d]
    let max = 0
    for (let i = 0; i < v.length; i++) max = Math.max(max, v[i]!)
    stats.maxRoundingBound = Math.max(stats.maxRoundingBound, roundingBound / max)
    return bound(v, x, y, lambdas[d], h, tailMass)
  }
  const r0 = direction(0, a0, b0)
  const r1 = direction(1, a1, b1)
  stats.maxSupport = Math.max(stats.maxSupport, r0.w.length, r1.w.length)
  return [r0, r1]
}

/**
 * Composes PLD pairs, each repeated `count` times, into one PLD pair (see the module header).
 * `focusEpsilon` should be near the epsilon that will be queried (delta queries: that
 * epsilon; epsilon queries: a first estimate); it affects tightness only, never validity.
 */
export const composePlds = (
  parts: ReadonlyArray<{ readonly pair: PldPair; readonly count: number }>,
  options: CompositionOptions = {}
): { readonly pair: PldPair; readonly stats: CompositionStats } => {
  const h = parts[0]?.pair.remove.h ?? 1e-4
  const focus = options.focusEpsilon ?? 1
  const active = parts.filter((p) => p.count > 0)
  const totalCount = active.reduce((acc, p) => acc + p.count, 0)
  const tailMass = options.tailMass ?? 1e-14
  // convolutions planned: per part, squarings + multiplications by the result so far
  let planned = 0
  let first = true
  for (const { count } of active) {
    const bits = Math.floor(Math.log2(count)) + 1
    let ones = 0
    for (let t = count; t > 0; t = Math.floor(t / 2)) ones += t % 2
    planned += bits - 1 + ones - (first ? 1 : 0)
    first = false
  }
  /** Mass a PLD of `steps` steps may send to +infinity (step 4 of the header). */
  const budget = (steps: number) => (tailMass * steps) / (2 * Math.max(1, totalCount) * Math.max(1, planned + 1))
  const lambdas: readonly [number, number] = [
    chooseLambda(active.map((p) => ({ pmf: p.pair.remove, count: p.count })), focus),
    chooseLambda(active.map((p) => ({ pmf: p.pair.add, count: p.count })), focus)
  ]
  const stats: CompositionStats = {
    convolutions: 0,
    lambdaRemove: lambdas[0],
    lambdaAdd: lambdas[1],
    maxSupport: 0,
    valueDiscretization: h,
    maxRoundingBound: 0
  }
  let result: Pair | undefined
  let resultSteps = 0
  for (const { pair, count } of active) {
    let power: Pair = [trim(tilt(pair.remove, lambdas[0]), lambdas[0], h, budget(1)), trim(tilt(pair.add, lambdas[1]), lambdas[1], h, budget(1))]
    let powerSteps = 1
    stats.maxSupport = Math.max(stats.maxSupport, power[0].w.length, power[1].w.length)
    let t = count
    while (t > 0) {
      if (t % 2 === 1) {
        result = result === undefined ? power : convolvePair(result, power, lambdas, h, budget(resultSteps + powerSteps), stats)
        resultSteps += powerSteps
      }
      t = Math.floor(t / 2)
      if (t > 0) {
        powerSteps *= 2
        power = convolvePair(power, "square", lambdas, h, budget(powerSteps), stats)
      }
    }
  }
  if (result === undefined) {
    const id: PldPmf = { h, lo: 0, masses: Float64Array.of(1), infinityMass: 0 }
    return { pair: { remove: id, add: id }, stats }
  }
  return { pair: { remove: untilt(result[0], lambdas[0], h), add: untilt(result[1], lambdas[1], h) }, stats }
}
