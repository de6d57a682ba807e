/**
 * Composition of PLDs (privacy losses add: the PMFs convolve).
 *
 * We compose by repeated squaring (binary powering), each convolution by float64 FFT
 * (fft.js, radix-4 with directly evaluated twiddles), remove and add directions packed into
 * one complex FFT. Like dp_accounting's composition this is exact up to float64 rounding;
 * every step that is NOT rounding keeps the result pessimistic:
 *
 * 1. Exponential tilting against the dynamic range. Absolute FFT errors are relative to the
 *    largest entry (~1e-3 near loss 0), while delta ~ 1e-10 lives in tail entries ~1e-14.
 *    Convolution commutes with tilting, (a*b)_i e^{lambda l_i} = (a~ * b~)_i, so we convolve
 *    a~_i = a_i e^{lambda l_i}, lambda in [0, cap] chosen to minimize the Chernoff exponent
 *    sum_e T_e log M_e(lambda) - lambda eps_focus: the tilted composition then peaks near the
 *    focus and rounding noise there is relative to the mass there, not to the peak at 0.
 *    lambda = 0 (no tilt, dp_accounting's scheme) is allowed: at small noise multipliers the
 *    Chernoff-optimal tilt is small, and forcing a larger one (this module used to force
 *    lambda >= 2) puts the bulk of the mass far below the tilted peak, where it drowns in the
 *    noise floor below.
 * 2. Noise floor: tilted entries below NOISE_FLOOR x the tilted peak are rounding noise and
 *    are zeroed (this keeps the supports from growing on noise). The finite mass of a
 *    convolution is known exactly (product of the operands' masses); what the zeroing removed
 *    is put back pessimistically (at the highest zeroed entries, within their bounds, the rest
 *    at +infinity; see truncate): never dropped. (This module used to drop it: with the forced
 *    tilt, most of the mass could vanish and epsilon came out ~0 at small sigma.)
 * 3. Tails: after each convolution, upper-tail mass beyond the point where it falls below
 *    tailMass / (total count) is moved to +infinity (so that the mass sent to +infinity, which
 *    later squarings multiply, stays below tailMass in total), lower-tail mass is moved UP to
 *    the lowest kept point (dp_accounting discards it instead). A support longer than
 *    MAX_SUPPORT entries keeps its top MAX_SUPPORT entries; the mass below is moved up too
 *    (pessimistic; the accountant picks the grid step so that this does not happen in practice).
 */
import FFT from "fft.js"
import type { PldPair, PldPmf } from "@dpipe/stages/accounting/pld"

/** Relative level below which tilted entries are rounding noise (typical FFT noise ~ u sqrt(log N) ||w||_2). */
const NOISE_FLOOR = 1e-13
/** Longest support kept per direction (bounds memory: FFT length <= 4 * MAX_SUPPORT). */
export const MAX_SUPPORT = 2 ** 20

/** A tilted PLD: untilted mass_i = w_i * exp(logScale - lambda * (lo + i) * h). */
interface Tilted {
  readonly lo: number
  readonly w: Float64Array
  readonly logScale: number
  /** upper bound on the untilted finite mass */
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
}

const ffts = new Map<number, FFT>()
const fftOf = (n: number): FFT => {
  let f = ffts.get(n)
  if (f === undefined) {
    if (ffts.size > 4) ffts.clear()
    f = new FFT(n)
    ffts.set(n, f)
  }
  return f
}

/** v * e^{x} without overflow in the factor (one exp in the common case). */
const scaleExp = (v: number, x: number): number => (x > -700 && x < 700 ? v * Math.exp(x) : Math.exp(Math.log(v) + x))

/**
 * Tilted weights w_i = m_i e^{lambda l_i - logScale} with max w = 1. A mass whose weight
 * underflows is carried UP to the next representable entry (or to +inf): pessimistic.
 * `massBound` (an upper bound on the finite mass) caps the recorded mass.
 */
const normalize = (lo: number, m: Float64Array, lambda: number, h: number, inf: number, massBound = Infinity): Tilted => {
  let maxLog = -Infinity
  let mass = 0
  for (let i = 0; i < m.length; i++) {
    const v = m[i] ?? 0
    mass += v
    if (v > 0) maxLog = Math.max(maxLog, Math.log(v) + lambda * (lo + i) * h)
  }
  const w = new Float64Array(m.length)
  if (maxLog === -Infinity) return { lo, w, logScale: 0, mass: 0, inf: Math.min(1, inf) }
  let carry = 0
  for (let i = 0; i < m.length; i++) {
    const v = (m[i] ?? 0) + carry
    if (v <= 0) continue
    const x = scaleExp(v, lambda * (lo + i) * h - maxLog)
    if (x > 1e-300) {
      w[i] = x
      carry = 0
    } else carry = v
  }
  return { lo, w, logScale: maxLog, mass: Math.min(mass * (1 + 1e-15), massBound), inf: Math.min(1, inf + carry) }
}

const tilt = (pmf: PldPmf, lambda: number): Tilted => normalize(pmf.lo, pmf.masses, lambda, pmf.h, pmf.infinityMass)

const untilt = (t: Tilted, lambda: number, h: number): PldPmf => {
  const masses = new Float64Array(t.w.length)
  for (let i = 0; i < t.w.length; i++) {
    const w = t.w[i] ?? 0
    if (w > 0) masses[i] = scaleExp(w, t.logScale - lambda * (t.lo + i) * h)
  }
  return { h, lo: t.lo, masses, infinityMass: Math.min(1, t.inf) }
}

/**
 * Restores lost mass, cuts tails and renormalizes. `w` are the tilted weights of the
 * convolution with entries below `floor` zeroed (`zeroed[i] = 1`), `total` the exact untilted
 * finite mass of the convolution (an upper bound).
 * Lost mass: the finite mass missing from the kept entries, D = total - sum(kept), was at
 * zeroed entries, each holding at most 2 floor (tilted: floor plus rounding noise below it).
 * It is put back at the zeroed entries greedily from the TOP (highest loss) down, each up to
 * its 2 floor: the stochastically largest placement consistent with those bounds, so the
 * result stays pessimistic; anything left goes to +inf.
 * Upper tail: the largest top segment of mass <= tailMass goes to +inf. Lower tail: the largest
 * bottom segment of mass <= tailMass (and anything beyond MAX_SUPPORT entries below the top) is
 * moved UP to the lowest kept index.
 */
const truncate = (
  t: { readonly lo: number; readonly logScale: number; readonly inf: number },
  w: Float64Array,
  zeroed: Uint8Array,
  floor: number,
  total: number,
  lambda: number,
  h: number,
  tailMass: number
): Tilted => {
  const n = w.length
  const u = new Float64Array(n)
  let keptAll = 0
  for (let i = 0; i < n; i++) {
    const wi = w[i] ?? 0
    if (wi > 0) {
      const v = scaleExp(wi, t.logScale - lambda * (t.lo + i) * h)
      u[i] = v
      keptAll += v
    }
  }
  let lost = total - keptAll
  if (lost > 0 && floor > 0) {
    const logCap = Math.log(2 * floor) + t.logScale
    for (let i = n - 1; i >= 0 && lost > 0; i--) {
      if (zeroed[i] !== 1) continue
      const take = Math.min(lost, Math.exp(logCap - lambda * (t.lo + i) * h))
      u[i] = (u[i] ?? 0) + take
      lost -= take
    }
  }
  lost = Math.max(0, lost)
  let hi = n - 1
  let up = 0
  while (hi > 0 && up + (u[hi] ?? 0) <= tailMass) up += u[hi--] ?? 0
  let lo = 0
  let down = 0
  while (lo < hi && down + (u[lo] ?? 0) <= tailMass) down += u[lo++] ?? 0
  while (hi - lo + 1 > MAX_SUPPORT) down += u[lo++] ?? 0
  const kept = u.slice(lo, hi + 1)
  kept[0] = (kept[0] ?? 0) + down
  return normalize(t.lo + lo, kept, lambda, h, t.inf + up + lost, Math.max(0, total - up))
}

type Pair = readonly [Tilted, Tilted]

/** Packs two real sequences into one complex input of size n. */
const pack = (x: Float64Array, y: Float64Array, n: number): Float64Array => {
  const z = new Float64Array(2 * n)
  for (let i = 0; i < x.length; i++) z[2 * i] = x[i] ?? 0
  for (let i = 0; i < y.length; i++) z[2 * i + 1] = y[i] ?? 0
  return z
}

/** Convolves (a0 * b0, a1 * b1) with one packed forward FFT per operand and one inverse. */
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
  const len0 = a0.w.length + b0.w.length - 1
  const len1 = a1.w.length + b1.w.length - 1
  let n = 2
  while (n < Math.max(len0, len1)) n *= 2
  const fft = fftOf(n)
  const fa = new Float64Array(2 * n)
  fft.transform(fa, pack(a0.w, a1.w, n))
  let fb = fa
  if (b !== "square") {
    fb = new Float64Array(2 * n)
    fft.transform(fb, pack(b0.w, b1.w, n))
  }
  const prod = new Float64Array(2 * n)
  for (let k = 0; k < n; k++) {
    const km = (n - k) % n
    const p = fa[2 * k] ?? 0, q = fa[2 * k + 1] ?? 0, r = fa[2 * km] ?? 0, s = fa[2 * km + 1] ?? 0
    const a0r = (p + r) / 2, a0i = (q - s) / 2, a1r = (q + s) / 2, a1i = -(p - r) / 2
    const p2 = fb[2 * k] ?? 0, q2 = fb[2 * k + 1] ?? 0, r2 = fb[2 * km] ?? 0, s2 = fb[2 * km + 1] ?? 0
    const b0r = (p2 + r2) / 2, b0i = (q2 - s2) / 2, b1r = (q2 + s2) / 2, b1i = -(p2 - r2) / 2
    const c0r = a0r * b0r - a0i * b0i, c0i = a0r * b0i + a0i * b0r
    const c1r = a1r * b1r - a1i * b1i, c1i = a1r * b1i + a1i * b1r
    // W = C0 + i C1
    prod[2 * k] = c0r - c1i
    prod[2 * k + 1] = c0i + c1r
  }
  const out = fa === fb ? fa : fb
  fft.inverseTransform(out, prod)
  stats.convolutions++
  const combine = (x: Tilted, y: Tilted, len: number, part: 0 | 1, lambda: number): Tilted => {
    const w = new Float64Array(len)
    const zeroed = new Uint8Array(len)
    let peak = 0
    for (let i = 0; i < len; i++) peak = Math.max(peak, out[2 * i + part] ?? 0)
    const floor = NOISE_FLOOR * peak
    for (let i = 0; i < len; i++) {
      const c = out[2 * i + part] ?? 0
      if (c > floor) w[i] = c
      else zeroed[i] = 1
    }
    const r = truncate(
      { lo: x.lo + y.lo, logScale: x.logScale + y.logScale, inf: x.inf * y.mass + y.inf * x.mass + x.inf * y.inf },
      w,
      zeroed,
      floor,
      x.mass * y.mass * (1 + 1e-15),
      lambda,
      h,
      tailMass
    )
    stats.maxSupport = Math.max(stats.maxSupport, r.w.length)
    return r
  }
  return [combine(a0, b0, len0, 0, lambdas[0]), combine(a1, b1, len1, 1, lambdas[1])]
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
 * epsilon; epsilon queries: a first estimate).
 */
export const composePlds = (
  parts: ReadonlyArray<{ readonly pair: PldPair; readonly count: number }>,
  options: CompositionOptions = {}
): { readonly pair: PldPair; readonly stats: CompositionStats } => {
  const h = parts[0]?.pair.remove.h ?? 1e-4
  const focus = options.focusEpsilon ?? 1
  const active = parts.filter((p) => p.count > 0)
  const totalCount = active.reduce((acc, p) => acc + p.count, 0)
  const tailMass = (options.tailMass ?? 1e-14) / Math.max(1, totalCount)
  const lambdas: readonly [number, number] = [
    chooseLambda(active.map((p) => ({ pmf: p.pair.remove, count: p.count })), focus),
    chooseLambda(active.map((p) => ({ pmf: p.pair.add, count: p.count })), focus)
  ]
  const stats: CompositionStats = { convolutions: 0, lambdaRemove: lambdas[0], lambdaAdd: lambdas[1], maxSupport: 0, valueDiscretization: h }
  let result: Pair | undefined
  for (const { pair, count } of active) {
    let power: Pair = [tilt(pair.remove, lambdas[0]), tilt(pair.add, lambdas[1])]
    stats.maxSupport = Math.max(stats.maxSupport, power[0].w.length, power[1].w.length)
    let t = count
    while (t > 0) {
      if (t % 2 === 1) result = result === undefined ? power : convolvePair(result, power, lambdas, h, tailMass, stats)
      t = Math.floor(t / 2)
      if (t > 0) power = convolvePair(power, "square", lambdas, h, tailMass, stats)
    }
  }
  if (result === undefined) {
    const id: PldPmf = { h, lo: 0, masses: Float64Array.of(1), infinityMass: 0 }
    return { pair: { remove: id, add: id }, stats }
  }
  return { pair: { remove: untilt(result[0], lambdas[0], h), add: untilt(result[1], lambdas[1], h) }, stats }
}
