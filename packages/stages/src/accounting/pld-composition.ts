/**
 * Composition of PLDs that stays a guaranteed upper bound.
 *
 * Composition convolves the PMFs (privacy losses add). We compose by repeated squaring
 * (binary powering), each convolution by FFT (fft.js, a maintained radix-4 FFT with
 * directly evaluated twiddles), and make every step pessimistic:
 *
 * 1. Error-bounded FFT. For c = a*b computed as IFFT(FFT(a) FFT(b)) in float64 the error
 *    satisfies ||c_hat - c||_inf <= ||c_hat - c||_2 <= eta with
 *      eta = (27 log2 N + 8) u (||a||_2 ||b||_1 + ||a||_1 ||b||_2),   u = 2^-53,
 *    from the Cooley-Tukey bound ||fl(FFT x) - FFT x||_2 <= log2(N) (mu + gamma_4 (sqrt2 + mu)) ||FFT x||_2
 *    (Higham 2002, "Accuracy and Stability of Numerical Algorithms", Thm. 24.2), propagated
 *    through the pointwise product (|FFT b|_inf <= ||b||_1) and the inverse transform, with a
 *    safety factor 2 (checked against exact convolution in the tests). We add eta to every
 *    entry of the result's support: all stored masses are entrywise UPPER bounds, and
 *    delta(eps) = sum_i m_i (1 - e^{eps - l_i})_+ is monotone in each m_i, also after further
 *    convolutions (all coefficients are non-negative).
 * 2. Exponential tilting against the dynamic range. Absolute FFT errors are relative to the
 *    largest entry (~1e-3 near loss 0), while delta ~ 1e-10 lives in tail entries ~1e-14.
 *    Convolution commutes with tilting, (a*b)_i e^{lambda l_i} = (a~ * b~)_i, so we convolve
 *    a~_i = a_i e^{lambda l_i} (Chernoff-style; lambda chosen to minimize
 *    sum_e T_e log M_e(lambda) - lambda eps_focus). The error at loss l is then eta e^{-lambda l}:
 *    relative to the Chernoff (RDP-like) bound at the focus instead of to the peak. This is
 *    what keeps the bound tight at T = 1e5, delta = 1.1e-10, where the reference's float64
 *    composition drifts by +-0.02 in epsilon.
 * 3. Tails: after each convolution, upper-tail mass beyond the point where it falls below
 *    tailMass / (total count) is moved to +infinity (so that the mass sent to +infinity, which
 *    later squarings multiply, stays below tailMass in total), lower-tail mass is moved UP to
 *    the lowest kept point (dp_accounting discards it instead).
 * Remove and add directions are convolved together: two real sequences packed into one
 * complex FFT.
 */
import FFT from "fft.js"
import type { PldPair, PldPmf } from "@dpipe/stages/accounting/pld"

const U = 2 ** -53
/** Float mode: relative level below which tilted entries are rounding noise (typical FFT noise ~ u sqrt(log N) ||w||_2). */
const NOISE_FLOOR = 1e-13

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
  /**
   * "float" (default): plain float64 FFT composition like dp_accounting's (negative rounding
   * noise clamped to 0): fast, matches the references, NOT a guaranteed bound at tiny delta.
   * "upper-bound": tilted, error-bounded composition (experimental, see module header).
   */
  readonly mode?: "float" | "upper-bound"
}

export interface CompositionStats {
  convolutions: number
  lambdaRemove: number
  lambdaAdd: number
}

const ffts = new Map<number, FFT>()
const fftOf = (n: number): FFT => {
  let f = ffts.get(n)
  if (f === undefined) {
    f = new FFT(n)
    ffts.set(n, f)
  }
  return f
}

/**
 * Tilted weights w_i = m_i e^{lambda l_i - logScale} with max w = 1. A mass whose weight
 * underflows is carried UP to the next representable entry (or to +inf): pessimistic.
 */
const normalize = (lo: number, m: Float64Array, lambda: number, h: number, inf: number): Tilted => {
  let maxLog = -Infinity
  let mass = 0
  for (let i = 0; i < m.length; i++) {
    const v = m[i] ?? 0
    mass += v
    if (v > 0) maxLog = Math.max(maxLog, Math.log(v) + lambda * (lo + i) * h)
  }
  const w = new Float64Array(m.length)
  if (maxLog === -Infinity) return { lo, w, logScale: 0, mass: 0, inf }
  let carry = 0
  for (let i = 0; i < m.length; i++) {
    const v = (m[i] ?? 0) + carry
    if (v <= 0) continue
    const x = Math.exp(Math.log(v) + lambda * (lo + i) * h - maxLog)
    if (x > 1e-300) {
      w[i] = x
      carry = 0
    } else carry = v
  }
  return { lo, w, logScale: maxLog, mass: mass * (1 + 1e-15), inf: inf + carry }
}

const tilt = (pmf: PldPmf, lambda: number): Tilted => normalize(pmf.lo, pmf.masses, lambda, pmf.h, pmf.infinityMass)

const untilt = (t: Tilted, lambda: number, h: number): PldPmf => {
  const masses = new Float64Array(t.w.length)
  for (let i = 0; i < t.w.length; i++) {
    const w = t.w[i] ?? 0
    if (w > 0) masses[i] = Math.exp(Math.log(w) + t.logScale - lambda * (t.lo + i) * h)
  }
  return { h, lo: t.lo, masses, infinityMass: Math.min(1, t.inf) }
}

/**
 * Cuts tails and renormalizes. `upper`/`lower` are entrywise upper/lower bounds on the tilted
 * weights (central value +- eta), `totalUpper` bounds the untilted total finite mass.
 * Upper tail: the smallest top segment whose upper-bound mass is <= tailMass goes to +inf.
 * Lower tail: cut below the first index where the lower-bound mass exceeds tailMass; the true
 * mass below is at most totalUpper - (lower-bound mass kept), which is moved UP to that index.
 */
const truncate = (
  t: { readonly lo: number; readonly logScale: number; readonly inf: number },
  upper: Float64Array,
  lower: Float64Array,
  totalUpper: number,
  lambda: number,
  h: number,
  tailMass: number
): Tilted => {
  const n = upper.length
  const u = new Float64Array(n)
  const l = new Float64Array(n)
  for (let i = 0; i < n; i++) {
    const shift = t.logScale - lambda * (t.lo + i) * h
    const wu = upper[i] ?? 0
    const wl = lower[i] ?? 0
    if (wu > 0) u[i] = Math.exp(Math.log(wu) + shift)
    if (wl > 0) l[i] = Math.exp(Math.log(wl) + shift)
  }
  let hi = n - 1
  let up = 0
  while (hi > 0 && up + (u[hi] ?? 0) <= tailMass) up += u[hi--] ?? 0
  let lo = 0
  let downLower = 0
  while (lo < hi && downLower + (l[lo] ?? 0) <= tailMass) downLower += l[lo++] ?? 0
  let keptLower = 0
  for (let i = lo; i <= hi; i++) keptLower += l[i] ?? 0
  const kept = u.slice(lo, hi + 1)
  if (lo > 0) {
    let below = 0
    for (let i = 0; i < lo; i++) below += u[i] ?? 0
    kept[0] = (kept[0] ?? 0) + Math.min(below, Math.max(0, totalUpper - keptLower))
  }
  return normalize(t.lo + lo, kept, lambda, h, t.inf + up)
}

const norms = (w: Float64Array): readonly [number, number] => {
  let l1 = 0
  let l2 = 0
  for (let i = 0; i < w.length; i++) {
    const v = w[i] ?? 0
    l1 += Math.abs(v)
    l2 += v * v
  }
  return [l1, l2]
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
  stats: CompositionStats,
  rigorous: boolean
): Pair => {
  const [a0, a1] = a
  const [b0, b1] = b === "square" ? a : b
  const len0 = a0.w.length + b0.w.length - 1
  const len1 = a1.w.length + b1.w.length - 1
  let n = 2
  while (n < Math.max(len0, len1)) n *= 2
  const fft = fftOf(n)
  const za = pack(a0.w, a1.w, n)
  const fa = new Float64Array(2 * n)
  fft.transform(fa, za)
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
  const out = new Float64Array(2 * n)
  fft.inverseTransform(out, prod)
  stats.convolutions++
  const [a0l1, a0l2] = norms(a0.w), [a1l1, a1l2] = norms(a1.w)
  const [b0l1, b0l2] = b === "square" ? [a0l1, a0l2] : norms(b0.w)
  const [b1l1, b1l2] = b === "square" ? [a1l1, a1l2] : norms(b1.w)
  const zaL1 = a0l1 + a1l1, zaL2 = Math.sqrt(a0l2 + a1l2)
  const zbL1 = b0l1 + b1l1, zbL2 = Math.sqrt(b0l2 + b1l2)
  const bound = (27 * Math.log2(n) + 8) * U * (zaL2 * zbL1 + zaL1 * zbL2) * (1 + 1e-12)
  const combine = (x: Tilted, y: Tilted, len: number, part: 0 | 1, lambda: number): Tilted => {
    const upper = new Float64Array(len)
    const lower = new Float64Array(len)
    let peak = 0
    for (let i = 0; i < len; i++) peak = Math.max(peak, out[2 * i + part] ?? 0)
    const floor = NOISE_FLOOR * peak
    for (let i = 0; i < len; i++) {
      const c = out[2 * i + part] ?? 0
      if (rigorous) {
        upper[i] = Math.max(0, c + bound)
        lower[i] = Math.max(0, c - bound)
      } else {
        // float mode: entries below the typical rounding-noise level of the tilted array
        // (NOISE_FLOOR x its peak) are treated as 0; their mass is moved up by truncate().
        const v = c > floor ? c : 0
        upper[i] = v
        lower[i] = v
      }
    }
    return truncate(
      { lo: x.lo + y.lo, logScale: x.logScale + y.logScale, inf: x.inf * y.mass + y.inf * x.mass + x.inf * y.inf },
      upper,
      lower,
      x.mass * y.mass,
      lambda,
      h,
      tailMass
    )
  }
  return [combine(a0, b0, len0, 0, lambdas[0]), combine(a1, b1, len1, 1, lambdas[1])]
}

/** log E[e^{lambda L}] over the finite part of a PMF. */
const logMgf = (pmf: PldPmf, lambda: number): number => {
  let mx = -Infinity
  for (let i = 0; i < pmf.masses.length; i++) if ((pmf.masses[i] ?? 0) > 0) mx = Math.max(mx, lambda * (pmf.lo + i) * pmf.h)
  let s = 0
  for (let i = 0; i < pmf.masses.length; i++) {
    const m = pmf.masses[i] ?? 0
    if (m > 0) s += m * Math.exp(lambda * (pmf.lo + i) * pmf.h - mx)
  }
  return mx + Math.log(s)
}

const LAMBDA_MIN = 2
const LAMBDA_MAX = 200

/** Tilt minimizing sum_e T_e log M_e(lambda) - lambda * focus (golden section; convex). */
const chooseLambda = (parts: ReadonlyArray<{ pmf: PldPmf; count: number }>, focus: number): number => {
  const f = (l: number) => parts.reduce((acc, p) => acc + p.count * logMgf(p.pmf, l), 0) - l * focus
  // Keep the tilted dynamic range representable (e^{lambda * width} well inside float64) and
  // the amplification e^{lambda |l|} of rounding noise at negative losses moderate.
  const width = parts.reduce((acc, p) => Math.max(acc, p.pmf.masses.length * p.pmf.h), 1e-9)
  const below = parts.reduce((acc, p) => Math.max(acc, -p.pmf.lo * p.pmf.h), 1e-9)
  const cap = Math.max(LAMBDA_MIN, Math.min(LAMBDA_MAX, 250 / width, 25 / below))
  let a = LAMBDA_MIN
  let b = cap
  const g = (Math.sqrt(5) - 1) / 2
  let c = b - g * (b - a)
  let d = a + g * (b - a)
  let fc = f(c)
  let fd = f(d)
  for (let it = 0; it < 60; it++) {
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
  return f(best) < f(LAMBDA_MIN) ? Math.min(best, cap) : LAMBDA_MIN
}

/**
 * Composes PLD pairs, each repeated `count` times, into one PLD pair whose masses are
 * upper bounds (see the module header). `focusEpsilon` should be near the epsilon that
 * will be queried (delta queries: that epsilon; epsilon queries: a first estimate).
 */
export const composePlds = (
  parts: ReadonlyArray<{ readonly pair: PldPair; readonly count: number }>,
  options: CompositionOptions = {}
): { readonly pair: PldPair; readonly stats: CompositionStats } => {
  const h = parts[0]?.pair.remove.h ?? 1e-4
  const rigorous = options.mode === "upper-bound"
  const focus = options.focusEpsilon ?? 1
  const active = parts.filter((p) => p.count > 0)
  const totalCount = active.reduce((acc, p) => acc + p.count, 0)
  const tailMass = (options.tailMass ?? 1e-14) / Math.max(1, totalCount)
  const lambdas: readonly [number, number] = [
    chooseLambda(active.map((p) => ({ pmf: p.pair.remove, count: p.count })), focus),
    chooseLambda(active.map((p) => ({ pmf: p.pair.add, count: p.count })), focus)
  ]
  const stats: CompositionStats = { convolutions: 0, lambdaRemove: lambdas[0], lambdaAdd: lambdas[1] }
  let result: Pair | undefined
  for (const { pair, count } of active) {
    let power: Pair = [tilt(pair.remove, lambdas[0]), tilt(pair.add, lambdas[1])]
    let t = count
    while (t > 0) {
      if (t % 2 === 1) result = result === undefined ? power : convolvePair(result, power, lambdas, h, tailMass, stats, rigorous)
      t = Math.floor(t / 2)
      if (t > 0) power = convolvePair(power, "square", lambdas, h, tailMass, stats, rigorous)
    }
  }
  if (result === undefined) {
    const id: PldPmf = { h, lo: 0, masses: Float64Array.of(1), infinityMass: 0 }
    return { pair: { remove: id, add: id }, stats }
  }
  return { pair: { remove: untilt(result[0], lambdas[0], h), add: untilt(result[1], lambdas[1], h) }, stats }
}
