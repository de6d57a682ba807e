/**
 * Composition of PLDs (privacy losses add: the PMFs convolve), as a GUARANTEED upper bound.
 *
 * dp_accounting composes by float64 FFT and trusts the result; at T = 1e5 and delta = 1.1e-10
 * its epsilon drifts by about +-0.02 and is not monotone in the dataset size (DP-NOTES.md).
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
 * 1. Exponential tilting against the dynamic range. FFT errors are absolute, relative to the
 *    largest entry, while delta ~ 1e-10 lives in tail entries ~1e-14. Convolution commutes with
 *    tilting, (a*b)_i e^{lambda l_i} = (a~ * b~)_i, so we convolve a~_i = a_i e^{lambda l_i},
 *    lambda in [0, cap] minimizing the Chernoff exponent sum_e T_e log M_e(lambda) - lambda
 *    eps_focus: the tilted composition peaks near the epsilon of interest. Weights are stored
 *    as w_i with a_i = w_i 2^p e^{-lambda l_i}, p an integer, so that renormalizing (by a power
 *    of two) and combining scales (p_a + p_b) are exact; only the conversions between w and
 *    a_i round, and they round up (factor K, see untiltUpper).
 * 2. FFT rounding. Each convolution is computed by the radix-2 FFT of fft.ts, whose error has
 *    a proved bound (Higham 2002, Thm. 24.2); convolutionErrorBound turns it into a bound E on
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
import {
  bitReversal,
  fftRelativeError,
  gamma,
  transformPermuted,
  UNIT_ROUNDOFF as U
} from "@dpipe/stages/accounting/fft"
import type { PldPair, PldPmf } from "@dpipe/stages/accounting/pld"

/** Longest support kept per direction (bounds memory: FFT length <= 2 * MAX_SUPPORT). */
export const MAX_SUPPORT = 2 ** 20

/**
 * A tilted measure: a_i = w_i 2^p e^{-lambda l_i}, l_i = (lo + i) h (real arithmetic on the
 * stored floats), plus `inf` at +infinity. `mass` bounds sum_i a_i from above.
 */
interface Tilted {
  readonly lo: number
  readonly w: Float64Array
  readonly p: number
  readonly mass: number
  readonly inf: number
}

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

/** Rounds a non-negative computed value up past the rounding of its last operation. */
const UP = 1 + 4 * U
/** Values below this are treated as possibly underflowed (an absolute bound is added). */
const TINY = 1e-290
const BLOCK = 256

/** Upward bound of sum over n non-negative terms from their computed sum. */
const sumUpper = (s: number, n: number): number => s * (1 + gamma(Math.max(1, n))) * UP
/** Downward bound likewise. */
const sumLower = (s: number, n: number): number => s * (1 - gamma(Math.max(1, n))) * (1 - 4 * U)

const expTables = new Map<number, Float64Array>()
/** e^{-x j} for j < BLOCK (each within 2 ulp + argument rounding; covered by K below). */
const expTable = (x: number): Float64Array => {
  let t = expTables.get(x)
  if (t === undefined) {
    if (expTables.size > 16) expTables.clear()
    t = new Float64Array(BLOCK)
    for (let j = 0; j < BLOCK; j++) t[j] = Math.exp(-x * j)
    expTables.set(x, t)
  }
  return t
}

/**
 * Conversion factor slack for x_i = p ln2 - lambda (lo + i) h: the computed argument is within
 * 4u (|p ln2| + |lambda l_i| + lambda h BLOCK) of the exact one (a few roundings of terms of
 * that size), e^x is within 2 ulp, and the products round; K bounds the total relative error
 * of one conversion from above (generously: 8u per unit of argument size, 32u otherwise).
 */
const conversionSlack = (p: number, lambda: number, h: number, lo: number, n: number): number => {
  const maxAbsLoss = Math.max(Math.abs(lo), Math.abs(lo + n)) * h
  return 1 + 8 * U * (Math.abs(p) * Math.LN2 + Math.abs(lambda) * (maxAbsLoss + h * BLOCK)) + 32 * U
}

/**
 * out[i] >= w_i 2^p e^{-lambda (lo + i) h} for every i (an upper bound of the real value),
 * computed blockwise: e^{x_{i0}} once per BLOCK entries times a table of e^{-lambda h j}.
 * Returns K (the slack applied), so that out[i] / K^2 is a lower bound.
 */
const untiltUpper = (w: Float64Array, lo: number, p: number, lambda: number, h: number, out: Float64Array): number => {
  const n = w.length
  const K = conversionSlack(p, lambda, h, lo, n)
  const table = expTable(lambda * h)
  const pLn2 = p * Math.LN2
  for (let i0 = 0; i0 < n; i0 += BLOCK) {
    const base = Math.exp(pLn2 - lambda * ((lo + i0) * h))
    const end = Math.min(n, i0 + BLOCK)
    for (let i = i0; i < end; i++) {
      const wi = w[i]!
      if (wi > 0) {
        let v = wi * base * table[i - i0]! * K
        // an underflowed product stands for a true value below 2 e^{-708} < TINY
        if (v < TINY) v += TINY
        out[i] = v
      } else out[i] = 0
    }
  }
  return K
}

/** Upper bound of m 2^-p e^{lambda l} (mass m placed at loss l, as a tilted weight). */
const tiltOneUpper = (m: number, l: number, p: number, lambda: number): number => {
  if (m <= 0) return 0
  const K = 1 + 8 * U * (Math.abs(p) * Math.LN2 + Math.abs(lambda * l)) + 32 * U
  const x = lambda * l - p * Math.LN2
  const v = x < 700 ? m * Math.exp(x) * K : Math.exp(Math.log(m) + x) * K * (1 + 4 * U * Math.abs(x))
  return v < TINY ? v + TINY : v
}

/** Exponent e with 2^e <= max < 2^(e+1) (for power-of-two normalization). */
const exponentOf = (max: number): number => {
  let e = Math.floor(Math.log2(max))
  while (2 ** e > max) e--
  while (2 ** (e + 1) <= max) e++
  return e
}

/** Scales w by 2^-e in place (exact except below the normal range, where TINY is added). */
const scalePow2 = (w: Float64Array, e: number): void => {
  if (e === 0) return
  const f = 2 ** -e
  const g = e > 1000 || e < -1000 ? -1 : 0
  for (let i = 0; i < w.length; i++) {
    const x = w[i]!
    if (x > 0) {
      let v = g === 0 ? x * f : x * 2 ** -(e >> 1) * 2 ** -(e - (e >> 1))
      if (v < TINY) v += TINY
      w[i] = v
    }
  }
}

/** The tilted form of a leaf PMF (weights rounded up; largest weight in [1, 2)). */
const tilt = (pmf: PldPmf, lambda: number): Tilted => {
  const n = pmf.masses.length
  let maxLog = -Infinity
  let sum = 0
  for (let i = 0; i < n; i++) {
    const v = pmf.masses[i]!
    sum += v
    if (v > 0) maxLog = Math.max(maxLog, Math.log(v) + lambda * (pmf.lo + i) * pmf.h)
  }
  const mass = sumUpper(sum, n)
  if (maxLog === -Infinity) return { lo: pmf.lo, w: new Float64Array(n), p: 0, mass: 0, inf: pmf.infinityMass }
  const p = Math.floor(maxLog / Math.LN2)
  // w_i >= m_i 2^-p e^{lambda l_i}: untiltUpper with (-p, -lambda) computes exactly that
  const w = new Float64Array(n)
  untiltUpper(pmf.masses, pmf.lo, -p, -lambda, pmf.h, w)
  let max = 0
  for (let i = 0; i < n; i++) max = Math.max(max, w[i]!)
  const e = max > 0 ? exponentOf(max) : 0
  scalePow2(w, e)
  return { lo: pmf.lo, w, p: p + e, mass, inf: pmf.infinityMass }
}

/** The untilted PMF (masses rounded up). */
const untilt = (t: Tilted, lambda: number, h: number): PldPmf => {
  const masses = new Float64Array(t.w.length)
  untiltUpper(t.w, t.lo, t.p, lambda, h, masses)
  return { h, lo: t.lo, masses, infinityMass: Math.min(1, t.inf) }
}

/** 1- and 2-norms of a non-negative vector, rounded up. */
const norms = (x: Float64Array): { readonly l1: number; readonly l2: number } => {
  let s1 = 0
  let s2 = 0
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!
    s1 += v
    s2 += v * v
  }
  // s2: n products (1 rounding each) then a sum; sqrt adds half an ulp
  return { l1: sumUpper(s1, x.length), l2: Math.sqrt(sumUpper(s2, x.length) * UP) * UP }
}

/**
 * Bound E on |c^_i - c_i| for every entry of the two convolutions c0 = a0 * b0, c1 = a1 * b1
 * (non-negative real operands, zero-padded to the FFT length N = 2^t) computed as convolvePair
 * does: Z = FFT(a0 + i a1), the spectra of a0 and a1 unpacked from Z (and likewise for b),
 * multiplied pointwise, repacked as W = C0 + i C1, and w = IFFT(W) / N, c0 = Re w, c1 = Im w.
 *
 * With rho = fftRelativeError(N) (Higham Thm. 24.2), ||F x||_2 = sqrt(N) ||x||_2, and for
 * non-negative x, ||F x||_inf = ||x||_1 (every coefficient is at most the DC one):
 * - forward: ||Z^ - Z|| <= eZ = rho sqrt(N) ||(a0, a1)||_2;
 * - unpacking A0 = (Z_k + conj Z_{-k}) / 2 (one rounded addition per component, /2 exact):
 *   eA0 = eZ + u (sqrt(N) ||a0|| + eZ), and ||A0^||_inf <= ||a0||_1 + eA0;
 * - product (conventional complex product, |fl(xy) - xy| <= sqrt(2) gamma_2 |x||y|, Higham
 *   Lemma 3.5): A^B^ - AB = (A^ - A) B^ + A (B^ - B), so
 *   eC0 = eA0 ||B0^||_inf + ||a0||_1 eB0 + sqrt(2) gamma_2 ||A0^||_2 ||B0^||_inf;
 * - repacking (one rounded addition per component): eW = eC0 + eC1 + u (||C0^|| + ||C1^||);
 * - inverse: ||w^ - w||_2 <= (rho ||F* W^|| + ||F*(W^ - W)||) / N = (rho ||W^|| + eW) / sqrt(N),
 *   which bounds every entry. A tiny absolute term covers gradual underflow.
 * Each bound is evaluated with a relative margin (1e-6) for its own rounding.
 */
export const convolutionErrorBound = (
  n: number,
  a: readonly [{ readonly l1: number; readonly l2: number }, { readonly l1: number; readonly l2: number }],
  b: readonly [{ readonly l1: number; readonly l2: number }, { readonly l1: number; readonly l2: number }]
): number => {
  const rho = fftRelativeError(n)
  const rn = Math.sqrt(n)
  const eZa = rho * rn * Math.hypot(a[0].l2, a[1].l2)
  const eZb = rho * rn * Math.hypot(b[0].l2, b[1].l2)
  const g2 = Math.SQRT2 * gamma(2)
  const part = (d: 0 | 1) => {
    const eA = eZa + U * (rn * a[d].l2 + eZa)
    const eB = eZb + U * (rn * b[d].l2 + eZb)
    const bInf = b[d].l1 + eB
    const a2 = rn * a[d].l2 + eA
    const eC = eA * bInf + a[d].l1 * eB + g2 * a2 * bInf
    const c2 = rn * Math.min(a[d].l2 * b[d].l1, a[d].l1 * b[d].l2) + eC
    return { eC, c2 }
  }
  const p0 = part(0)
  const p1 = part(1)
  const eW = p0.eC + p1.eC + U * (p0.c2 + p1.c2)
  const w2 = p0.c2 + p1.c2 + eW
  return ((rho * w2 + eW) / rn) * (1 + 1e-6) + 1e-300
}

type Pair = readonly [Tilted, Tilted]

/** Packs two real sequences into one complex input of size n, in bit-reversed order. */
const pack = (x: Float64Array, y: Float64Array, n: number): Float64Array => {
  const z = new Float64Array(2 * n)
  const rev = bitReversal(n)
  const nx = x.length
  const ny = y.length
  // gather (sequential writes): position j holds point rev[j]
  for (let j = 0; j < n; j++) {
    const i = rev[j]!
    if (i < nx) z[2 * j] = x[i]!
    if (i < ny) z[2 * j + 1] = y[i]!
  }
  return z
}

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

/** Tilted weight (relative) that moving the lower tail up may add per convolution. */
const LOWER_BUDGET = 1e-9

/** Widest head (entries) convolved directly (step 2b of the header): wider is tighter and slower. */
const HEAD_MAX = 64
/** A head holds the entries above this fraction of the largest one (contiguous, around it). */
const HEAD_LEVEL = 1e-4

/** A tilted array split into a narrow head (a window around its largest entry) and the rest. */
interface Split {
  readonly head: Float64Array
  readonly start: number
  readonly tail: Float64Array
}

/**
 * Splits off the head when it holds at least half of the array's total weight (a spiky PLD,
 * like one step of a subsampled Gaussian at a small rate); otherwise the head is empty.
 */
const splitHead = (w: Float64Array): Split => {
  let arg = 0
  let total = 0
  for (let i = 0; i < w.length; i++) {
    const x = w[i]!
    total += x
    if (x > w[arg]!) arg = i
  }
  const level = HEAD_LEVEL * w[arg]!
  let s = arg
  let e = arg + 1
  while (e - s < HEAD_MAX && ((s > 0 && w[s - 1]! >= level) || (e < w.length && w[e]! >= level))) {
    if (s > 0 && w[s - 1]! >= level && (e >= w.length || w[s - 1]! >= w[e]!)) s--
    else e++
  }
  let headMass = 0
  for (let i = s; i < e; i++) headMass += w[i]!
  if (!(headMass >= 0.5 * total) || w.length <= 4 * HEAD_MAX) return { head: new Float64Array(0), start: 0, tail: w }
  const tail = w.slice()
  tail.fill(0, s, e)
  return { head: w.slice(s, e), start: s, tail }
}

/**
 * Direct part of a * b for split operands: head_a * b + tail_a * head_b (the rest, tail_a *
 * tail_b, goes through the FFT). Each output entry is a sum of at most |head_a| + |head_b|
 * non-negative products, so the computed value is within gamma_{k+1} (relative) of the exact
 * one (Higham, eq. 4.4): returned rounded up.
 */
const directPart = (sa: Split, b: Float64Array, sb: Split, lenA: number, len: number): Float64Array => {
  const out = new Float64Array(len)
  if (sa.head.length === 0 && sb.head.length === 0) return out
  const ha = sa.head
  for (let j = 0; j < ha.length; j++) {
    const hj = ha[j]!
    const base = sa.start + j
    for (let m = 0; m < b.length; m++) out[base + m] = out[base + m]! + hj * b[m]!
  }
  const hb = sb.head
  const ta = sa.tail
  for (let k = 0; k < hb.length; k++) {
    const hk = hb[k]!
    const base = sb.start + k
    for (let m = 0; m < lenA; m++) out[base + m] = out[base + m]! + ta[m]! * hk
  }
  const f = (1 + gamma(ha.length + hb.length + 2)) * UP
  for (let i = 0; i < len; i++) out[i] = out[i]! * f
  return out
}

/** Two non-negative arrays convolved together (the remove and add directions). */
export type Operand = readonly [Float64Array, Float64Array]

/** An operand's split, the FFT of its tails (packed, length n) and their norms. */
interface Spectrum {
  readonly n: number
  readonly second: Float64Array
  readonly split: readonly [Split, Split]
  readonly spectrum: Float64Array
  readonly norms: readonly [{ readonly l1: number; readonly l2: number }, { readonly l1: number; readonly l2: number }]
}

/**
 * Spectra are kept per operand (keyed by its arrays): in binary powering the power is
 * multiplied into the result and then squared, usually at the same FFT length, so its
 * transform is computed once.
 */
const spectra = new WeakMap<Float64Array, Spectrum>()

const spectrumOf = (x: Operand, n: number): Spectrum => {
  const cached = spectra.get(x[0])
  if (cached !== undefined && cached.n === n && cached.second === x[1]) return cached
  const split = [splitHead(x[0]), splitHead(x[1])] as const
  const spectrum = pack(split[0].tail, split[1].tail, n)
  transformPermuted(spectrum, -1)
  const result: Spectrum = { n, second: x[1], split, spectrum, norms: [norms(split[0].tail), norms(split[1].tail)] }
  spectra.set(x[0], result)
  return result
}

/**
 * Elementwise upper bounds of the two convolutions a0 * b0 and a1 * b1 of non-negative arrays
 * (b = "square": a0 * a0, a1 * a1): heads directly, tails by one packed FFT per operand and
 * one inverse, each entry of the tails' convolution raised by the bound E of
 * convolutionErrorBound. Returns the bounds and E.
 */
export const convolveUpper = (a: Operand, b: Operand | "square"): { readonly upper: Operand; readonly roundingBound: number } => {
  const bb = b === "square" ? a : b
  const len0 = a[0].length + bb[0].length - 1
  const len1 = a[1].length + bb[1].length - 1
  let n = 2
  while (n < Math.max(len0, len1)) n *= 2
  const A = spectrumOf(a, n)
  const B = b === "square" ? A : spectrumOf(b, n)
  const { split: sa, spectrum: fa, norms: na } = A
  const { split: sb, spectrum: fb, norms: nb } = B
  const E = convolutionErrorBound(n, na, nb)
  // W / n, stored bit-reversed for the inverse transform (scaling by 1/n = 2^-t is exact)
  const prod = new Float64Array(2 * n)
  const rev = bitReversal(n)
  const scale = 1 / n
  for (let k = 0; k < n; k++) {
    const km = (n - k) % n
    const p = fa[2 * k]!, q = fa[2 * k + 1]!, r = fa[2 * km]!, s = fa[2 * km + 1]!
    const a0r = (p + r) / 2, a0i = (q - s) / 2, a1r = (q + s) / 2, a1i = -(p - r) / 2
    const p2 = fb[2 * k]!, q2 = fb[2 * k + 1]!, r2 = fb[2 * km]!, s2 = fb[2 * km + 1]!
    const b0r = (p2 + r2) / 2, b0i = (q2 - s2) / 2, b1r = (q2 + s2) / 2, b1i = -(p2 - r2) / 2
    const c0r = a0r * b0r - a0i * b0i, c0i = a0r * b0i + a0i * b0r
    const c1r = a1r * b1r - a1i * b1i, c1i = a1r * b1i + a1i * b1r
    // W = C0 + i C1
    const at = 2 * rev[k]!
    prod[at] = (c0r - c1i) * scale
    prod[at + 1] = (c0i + c1r) * scale
  }
  transformPermuted(prod, 1)
  const direction = (d: 0 | 1, len: number): Float64Array => {
    // fl(fl(c^ + E) * UP) >= c^ + E >= c for the tails, plus the direct part (rounded up)
    const v = directPart(sa[d], bb[d], sb[d], a[d].length, len)
    for (let i = 0; i < len; i++) v[i] = (v[i]! + (prod[2 * i + d]! + E) * UP) * UP
    return v
  }
  return { upper: [direction(0, len0), direction(1, len1)], roundingBound: E }
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
 * A PMF summarized on at most SUMMARY_POINTS points (bin masses at their centroids), for MGFs.
 * The centroid keeps the mean exact (bin centres would bias log M by ~lambda * bin width / 2
 * per step, which T steps multiply); the remaining (Jensen) bias is <= lambda^2 w^2 / 8 times
 * the mass of bins that hold more than one loss value.
 */
interface Summary {
  readonly losses: Float64Array
  readonly masses: Float64Array
  readonly lo: number
  readonly hi: number
}

const SUMMARY_POINTS = 4096

/** Bins a PMF (see Summary). */
export const summarize = (pmf: PldPmf): Summary => {
  const n = pmf.masses.length
  const bin = Math.max(1, Math.ceil(n / SUMMARY_POINTS))
  const k = Math.ceil(n / bin)
  const losses = new Float64Array(k)
  const masses = new Float64Array(k)
  for (let b = 0; b < k; b++) {
    let m = 0
    let first = 0
    const end = Math.min(n, (b + 1) * bin)
    for (let i = b * bin; i < end; i++) {
      const v = pmf.masses[i] ?? 0
      m += v
      first += v * (i - b * bin)
    }
    masses[b] = m
    losses[b] = (pmf.lo + b * bin + (m > 0 ? first / m : (end - 1 - b * bin) / 2)) * pmf.h
  }
  return { losses, masses, lo: pmf.lo * pmf.h, hi: (pmf.lo + n - 1) * pmf.h }
}

/** log E[e^{lambda L}] over the finite part of a summarized PMF. */
export const logMgf = (s: Summary, lambda: number): number => {
  let mx = -Infinity
  for (let i = 0; i < s.masses.length; i++) if ((s.masses[i] ?? 0) > 0) mx = Math.max(mx, lambda * (s.losses[i] ?? 0))
  if (mx === -Infinity) return -Infinity
  let acc = 0
  for (let i = 0; i < s.masses.length; i++) {
    const m = s.masses[i] ?? 0
    if (m > 0) acc += m * Math.exp(lambda * (s.losses[i] ?? 0) - mx)
  }
  return mx + Math.log(acc)
}

const LAMBDA_MAX = 200

/** Minimizes a convex function on [a, b] by golden section. */
const goldenMin = (f: (x: number) => number, lo: number, hi: number, iterations = 60): number => {
  let a = lo
  let b = hi
  const g = (Math.sqrt(5) - 1) / 2
  let c = b - g * (b - a)
  let d = a + g * (b - a)
  let fc = f(c)
  let fd = f(d)
  for (let it = 0; it < iterations; it++) {
    if (fc < fd) {
      b = d
      d = c
      fd = fc
      c = b - g * (b - a)
      fc = f(c)
    } else {
      a = c
      c = d
      fc = fd
      d = a + g * (b - a)
      fd = f(d)
    }
  }
  const best = (a + b) / 2
  return f(best) <= Math.min(f(lo), f(hi)) ? best : f(lo) <= f(hi) ? lo : hi
}

/** Tilt in [0, cap] minimizing sum_e T_e log M_e(lambda) - lambda * focus (convex in lambda). */
const chooseLambda = (parts: ReadonlyArray<{ pmf: PldPmf; count: number }>, focus: number): number => {
  const sums = parts.map((p) => ({ s: summarize(p.pmf), count: p.count }))
  const f = (l: number) => sums.reduce((acc, p) => acc + p.count * logMgf(p.s, l), 0) - l * focus
  // Keep the tilted dynamic range representable (e^{lambda * width} well inside float64) and
  // the amplification e^{lambda |l|} of rounding noise at negative losses moderate.
  const width = parts.reduce((acc, p) => Math.max(acc, p.pmf.masses.length * p.pmf.h), 1e-9)
  const below = parts.reduce((acc, p) => Math.max(acc, -p.pmf.lo * p.pmf.h), 1e-9)
  const cap = Math.min(LAMBDA_MAX, 250 / width, 25 / below)
  return goldenMin(f, 0, cap)
}

/**
 * Chernoff range of the composed loss: [lo, hi] such that the composition puts at most
 * `tail` mass below lo and above hi (log P(L > x) <= sum T_e log M_e(lambda) - lambda x).
 * Used to pick a grid step whose composed support fits in MAX_SUPPORT entries.
 */
export const composedRange = (
  parts: ReadonlyArray<{ readonly pmf: PldPmf; readonly count: number }>,
  tail: number
): readonly [number, number] => {
  const lt = Math.log(tail)
  const sums = parts.map((p) => ({ s: summarize(p.pmf), count: p.count }))
  const bound = (sign: 1 | -1) => {
    const top = sums.reduce((acc, p) => acc + p.count * (sign === 1 ? p.s.hi : -p.s.lo), 0)
    // in log(lambda), where the Chernoff exponent is unimodal enough for golden section
    const g = (x: number) => {
      const l = Math.exp(x)
      return (sums.reduce((acc, p) => acc + p.count * logMgf(p.s, sign * l), 0) - lt) / l
    }
    const best = g(goldenMin(g, Math.log(1e-6), Math.log(1e3), 50))
    return Math.min(top, best)
  }
  return [-bound(-1), bound(1)]
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
