/**
 * Privacy loss distributions (PLDs) with pessimistic "connect-the-dots" discretization.
 *
 * A PLD is the law of L = log(P(o)/Q(o)), o ~ P, for a dominating pair (P, Q); its
 * hockey-stick curve is delta(eps) = E_P[(1 - e^{eps-L})_+] + P(L = inf). We keep it on the
 * grid eps_i = i*h: `masses[i]` is the mass at (lo + i) * h, `infinityMass` the mass at +inf.
 *
 * Discretization (Doroshenko, Ghazi, Kamath, Kumar, Manurangsi 2022, "Connect the Dots:
 * Tighter Discrete Approximations of Privacy Loss Distributions", PoPETs, Alg. 1; as in
 * Google's dp_accounting): evaluate the exact delta at the grid points and take the PMF whose
 * delta curve is the chord through them in the (e^eps, delta) plane. delta is convex in e^eps,
 * so the chord lies above it: the discrete PLD dominates the mechanism (pessimistic). With
 * x_j = e^{eps_j} and slopes S_j = (delta_j - delta_{j+1}) / (x_{j+1} - x_j) (S_{-1} = 1 at the
 * bottom, S_n = 0 at the top): mass_j = x_j (S_{j-1} - S_j), infinityMass = delta_n.
 * Floating-point errors of delta_j are bounded (erfc's, ERFC_REL_ERR, and the arguments'
 * rounding carried through the formulas, times the magnitude of its two terms), as are those of the steps x_{j+1} - x_j, and pushed into the masses as extra (upward)
 * mass; the curve is evaluated a few ulps below each grid point (see connectTheDots). So the
 * result dominates the mechanism, rounding included (given erfc's accuracy, tested in
 * special.test.ts). The swap (add direction) and the hockey-stick evaluation keep that.
 *
 * Mechanisms (all with sensitivity 1, noise s; Koskela et al. 2020 / dp_accounting's
 * AdditiveNoisePrivacyLoss):
 * - Poisson-subsampled Gaussian, rate r: "remove" pair P = (1-r)N(0,s^2) + rN(1,s^2), Q = N(0,s^2):
 *     xs = s^2 log((e^eps - 1 + r)/r) + 1/2,  delta = r Phibar((xs-1)/s) - (e^eps - 1 + r) Phibar(xs/s);
 *   "add" pair P = N(0,s^2), Q = the mixture (loss <= -log(1-r)):
 *     xs = s^2 log((e^-eps - 1 + r)/r) + 1/2, delta = (r e^eps - expm1(eps)) Phi(xs/s) - r e^eps Phi((xs-1)/s).
 * - Gaussian (r = 1): delta = Phi(1/(2s) - eps s) - e^eps Phi(-1/(2s) - eps s) (Balle & Wang 2018,
 *   Thm. 8), symmetric in add/remove.
 * - Truncated Poisson (dataset size N, cap B; Chua et al. 2024, arXiv:2411.04205): see
 *   truncatedPoissonComponents below.
 */
import { UNIT_ROUNDOFF as EPS } from "@dpipe/accounting/internal/rounding"
import { logAddExp, normalCdf, normalSf } from "@dpipe/accounting/special"

/** A PLD on the grid (lo + i) * h. Masses are upper bounds on the discretized masses. */
export interface PldPmf {
  readonly h: number
  readonly lo: number
  readonly masses: Float64Array
  readonly infinityMass: number
  /**
   * sum_i m_i e^{-l_i} for the EXACT discretized masses (Q's finite mass), when known in closed
   * form. swapPmf needs it: the swapped PLD's mass at +infinity is 1 minus it, which summing
   * the (upper-bound) masses would make too small.
   */
  readonly finiteQMass?: number
}

/** The two directions of an add/remove pair (identical for symmetric mechanisms). */
export interface PldPair {
  readonly remove: PldPmf
  readonly add: PldPmf
}

export const DEFAULT_VALUE_DISCRETIZATION = 1e-4

/** Bound on erfc's relative error (special.test.ts: <= 1.6e-14 observed against 200 digits). */
const ERFC_REL_ERR = 5e-14

/** Noise quantile (in units of s) beyond which mass is cut (its delta goes to infinityMass). */
const TAIL_Z = 10.5

/** delta(eps) with an absolute error bound. */
interface DeltaValue {
  readonly delta: number
  readonly err: number
}

/** A weighted subsampled-Gaussian component: rate r in (0,1], noise s (sensitivity 1). */
export interface Component {
  readonly weight: number
  readonly rate: number
  readonly sigma: number
}

/**
 * Relative error of Phibar(z) = normalSf(z) (or Phi(-z) = normalCdf(-z)) when the argument
 * was computed with absolute error up to dz: erfc's own (ERFC_REL_ERR), plus the argument's
 * effect through |d log Phibar / dz| = phi(z) / Phibar(z) <= |z| + 1 (the Mills-ratio bound
 * for z >= 0; below 2 phi(0) < 1 for z < 0), including the rounding of z / sqrt(2).
 */
const sfErr = (z: number, dz: number): number => ERFC_REL_ERR + (Math.abs(z) + 1) * (dz + 2 * EPS * Math.abs(z)) * 1.01

/**
 * x = s^2 log(y / r) + 1/2 (where the two densities' ratio crosses e^eps) and the normal
 * arguments (x - 1)/s, x/s with their absolute errors, given y's absolute error dy (each
 * operation rounds once; log is within one ulp, and its argument's relative error passes
 * through).
 */
const boundary = (y: number, dy: number, r: number, s: number) => {
  const ratio = y / r
  const L = Math.log(ratio)
  const dL = (dy / y + EPS) * 1.01 + 2 * EPS * Math.abs(L)
  const s2 = s * s
  const x = s2 * L + 0.5
  const dx = s2 * dL * (1 + 2 * EPS) + 2 * EPS * s2 * Math.abs(L) + EPS * Math.abs(x)
  // the two normal arguments (x - 1) / s and x / s, with their absolute errors
  const zA = (x - 1) / s
  const zB = x / s
  return { zA, zB, dzA: (dx + EPS * Math.abs(x - 1)) / s + EPS * Math.abs(zA), dzB: dx / s + EPS * Math.abs(zB) }
}

/**
 * delta(eps) of the remove pair with a rigorous error bound: the two terms' relative errors
 * (erfc, and the arguments' rounding carried through the formulas) times their sizes, plus the
 * final subtraction's rounding.
 */
const deltaRemove = (r: number, s: number, eps: number): DeltaValue => {
  if (r >= 1) {
    const a = 1 / (2 * s) - eps * s
    const b = -1 / (2 * s) - eps * s
    const da = 3 * EPS * (1 / (2 * s) + Math.abs(eps * s)) + EPS * Math.abs(a)
    const db = 3 * EPS * (1 / (2 * s) + Math.abs(eps * s)) + EPS * Math.abs(b)
    const t1 = normalCdf(a)
    const t2 = Math.exp(eps) * normalCdf(b)
    const delta = Math.max(0, t1 - t2)
    return { delta, err: t1 * sfErr(a, da) + t2 * (sfErr(b, db) + 3 * EPS) + EPS * delta }
  }
  const em1 = Math.expm1(eps)
  if (em1 + r <= 0) return { delta: -em1, err: 2 * EPS * Math.abs(em1) + 1e-300 }
  const y = em1 + r
  const dy = 2 * EPS * Math.abs(em1) + EPS * y
  const { zA, zB, dzA, dzB } = boundary(y, dy, r, s)
  const t1 = r * normalSf(zA)
  const t2 = y * normalSf(zB)
  const delta = Math.max(0, t1 - t2)
  return { delta, err: t1 * (sfErr(zA, dzA) + EPS) + t2 * (sfErr(zB, dzB) + dy / y + EPS) + EPS * delta }
}

/** delta(eps) of the add pair, with its error bound as in deltaRemove. */
const deltaAdd = (r: number, s: number, eps: number): DeltaValue => {
  if (r >= 1) return deltaRemove(r, s, eps)
  const em1n = Math.expm1(-eps)
  if (em1n + r <= 0) return { delta: 0, err: 0 }
  const y = em1n + r
  const dy = 2 * EPS * Math.abs(em1n) + EPS * y
  const { zA, zB, dzA, dzB } = boundary(y, dy, r, s)
  const e = Math.exp(eps)
  const em1 = Math.expm1(eps)
  // c = r e^eps - (e^eps - 1) > 0 on the add pair's range; it cancels near the top
  const c = r * e - em1
  const dc = 3 * EPS * r * e + 2 * EPS * Math.abs(em1) + EPS * Math.abs(c)
  // Phi(w) = Phibar(-w)
  const t1 = c * normalCdf(zB)
  const t2 = r * e * normalCdf(zA)
  const delta = Math.max(0, t1 - t2)
  return { delta, err: t1 * (sfErr(-zB, dzB) + dc / Math.abs(c) + EPS) + t2 * (sfErr(-zA, dzA) + 4 * EPS) + EPS * delta }
}

/** Privacy loss of the remove pair at output x. */
const lossRemove = (r: number, s: number, x: number): number =>
  r >= 1 ? (2 * x - 1) / (2 * s * s) : logAddExp(Math.log1p(-r), Math.log(r) + (2 * x - 1) / (2 * s * s))

/** Grid range [epsLo, epsHi] (in eps) covering all but ~Phibar(TAIL_Z) of the mass. */
const rangeOf = (c: Component, direction: "remove" | "add"): readonly [number, number] => {
  const { rate: r, sigma: s } = c
  if (r >= 1 || direction === "remove") {
    const hi = lossRemove(r, s, 1 + TAIL_Z * s)
    const lo = r >= 1 ? lossRemove(r, s, 1 - TAIL_Z * s) : Math.log1p(-r)
    return [lo, hi]
  }
  return [-lossRemove(r, s, TAIL_Z * s), -Math.log1p(-r)]
}

/**
 * Connect-the-dots PMF of a weighted sum of subsampled-Gaussian pairs (the delta curves of
 * a mixture over a revealed label add up, so the sum is itself a valid delta curve).
 */
export const connectTheDots = (
  components: ReadonlyArray<Component>,
  direction: "remove" | "add",
  h: number = DEFAULT_VALUE_DISCRETIZATION
): PldPmf => {
  let epsLo = Infinity
  let epsHi = -Infinity
  for (const c of components) {
    const [a, b] = rangeOf(c, direction)
    epsLo = Math.min(epsLo, a)
    epsHi = Math.max(epsHi, b)
  }
  // Remove direction of subsampled Gaussians (rates < 1): the loss is at least log(1 - r) for
  // every component, so below it delta(eps) = 1 - e^eps exactly (P >= e^eps Q everywhere) and
  // the bottom slope S_{-1} = (1 - delta_0) / x_0 is exactly 1 (weights summing to 1). The grid
  // starts one step below to be sure of that.
  const bottomExact = direction === "remove" && components.every((c) => c.rate < 1)
  const lo = Math.floor(epsLo / h) - (bottomExact ? 1 : 0)
  const hi = Math.max(lo + 1, Math.ceil(epsHi / h))
  const n = hi - lo + 1
  // The curve is evaluated at g_j, the float (lo + j) h moved down by a few ulps, so that
  // g_j <= l_j = (lo + j) h (exact reals) for certain: the connect-the-dots PMF on the points
  // g_j dominates the mechanism, and placing its masses at the grid points l_j >= g_j moves
  // mass up, which keeps it dominating. x_j = e^{g_j} and the steps x_{j+1} - x_j =
  // x_j expm1(g_{j+1} - g_j) are then accurate to a few ulps (differencing two exps instead
  // would lose a factor 1/h).
  const g = (j: number) => {
    const l = (lo + j) * h
    return l - 8 * EPS * Math.abs(l)
  }
  const delta = new Float64Array(n)
  const err = new Float64Array(n)
  for (let j = 0; j < n; j++) {
    const eps = g(j)
    let d = 0
    let e = 0
    for (const c of components) {
      const v = direction === "remove" ? deltaRemove(c.rate, c.sigma, eps) : deltaAdd(c.rate, c.sigma, eps)
      d += c.weight * v.delta
      e += c.weight * v.err
    }
    delta[j] = d
    err[j] = e + 1e-16 * d
  }
  // Slopes of the chords and their error bounds (the 8u term: relative error of the step);
  // S_{-1} = (1 - delta_0)/x_0, and 0 above the top.
  const x = (j: number) => Math.exp(g(j))
  const slope = new Float64Array(n + 1)
  const slopeErr = new Float64Array(n + 1)
  const x0 = x(0)
  slope[0] = Math.min(1, (1 - (delta[0] ?? 0)) / x0)
  slopeErr[0] = ((err[0] ?? 0) + 1e-16) / x0 + 8 * EPS * slope[0]!
  for (let j = 0; j + 1 < n; j++) {
    const dx = x(j) * Math.expm1(g(j + 1) - g(j))
    const sj = ((delta[j] ?? 0) - (delta[j + 1] ?? 0)) / dx
    slope[j + 1] = sj
    slopeErr[j + 1] = ((err[j] ?? 0) + (err[j + 1] ?? 0) + 1e-16 * (delta[j] ?? 0)) / dx + 8 * EPS * Math.abs(sj)
  }
  slope[n] = 0
  slopeErr[n] = 0
  if (bottomExact) {
    slope[0] = 1
    slopeErr[0] = 0
  }
  const masses = new Float64Array(n)
  for (let j = 0; j < n; j++) {
    const xj = x(j)
    const m = xj * ((slope[j] ?? 0) - (slope[j + 1] ?? 0))
    const me = xj * ((slopeErr[j] ?? 0) + (slopeErr[j + 1] ?? 0)) * (1 + 1e-15)
    masses[j] = (Math.max(0, m) * (1 + 8 * EPS) + me) * (1 + 4 * EPS)
  }
  const infinityMass = (delta[n - 1] ?? 0) + (err[n - 1] ?? 0)
  // sum m_j / x_j telescopes to S_{-1} - S_{n-1} = S_{-1}
  return bottomExact ? { h, lo, masses, infinityMass, finiteQMass: 1 } : { h, lo, masses, infinityMass }
}

/**
 * The PLD of the swapped pair (Q, P) from that of (P, Q): mass m at loss l becomes mass
 * m e^{-l} at loss -l, and Q's mass where P has none (1 - sum m e^{-l}) goes to +infinity.
 * If the discrete pair dominates the mechanism's pair, the swapped discrete pair dominates the
 * swapped mechanism pair (same post-processing), so this gives the "add" direction without
 * differencing delta at very negative epsilon.
 * Rounding: finite masses come from the upper bounds (rounded up), the mass at +infinity from
 * the exact Q-mass (`finiteQMass`), so every tail R([x, inf]) is an upper bound too.
 */
export const swapPmf = (pmf: PldPmf): PldPmf => {
  const n = pmf.masses.length
  const qMass = pmf.finiteQMass
  if (qMass === undefined) throw new Error("swapPmf needs the PMF's exact Q-mass (connectTheDots of a remove direction provides it)")
  const masses = new Float64Array(n)
  for (let i = 0; i < n; i++) {
    const l = (pmf.lo + n - 1 - i) * pmf.h
    // exp within 1 ulp, its argument within 2u |l|, one product: inflate by 4u (|l| + 2)
    masses[i] = pmf.masses[n - 1 - i]! * Math.exp(-l) * (1 + 4 * EPS * (Math.abs(l) + 2))
  }
  return { h: pmf.h, lo: -(pmf.lo + n - 1), masses, infinityMass: Math.max(0, 1 - qMass) }
}

/** PLD pair of the Gaussian mechanism (noise multiplier sigma, sensitivity 1). */
export const gaussianPld = (sigma: number, h: number = DEFAULT_VALUE_DISCRETIZATION): PldPair => {
  const pmf = connectTheDots([{ weight: 1, rate: 1, sigma }], "remove", h)
  return { remove: pmf, add: pmf }
}

/** PLD pair of the Poisson-subsampled Gaussian (rate q, noise multiplier sigma). */
export const poissonGaussianPld = (q: number, sigma: number, h: number = DEFAULT_VALUE_DISCRETIZATION): PldPair => {
  if (q >= 1) return gaussianPld(sigma, h)
  const remove = connectTheDots([{ weight: 1, rate: q, sigma }], "remove", h)
  return { remove, add: swapPmf(remove) }
}

/** log of the Binomial(n, p) pmf at k, by log Gamma (Lanczos). */
const logBinomPmf = (n: number, p: number, k: number, lg: (x: number) => number): number =>
  lg(n + 1) - lg(k + 1) - lg(n - k + 1) + k * Math.log(p) + (n - k) * Math.log1p(-p)

/**
 * Mixture components dominating one step of truncated Poisson subsampling.
 *
 * Each record joins with probability q; a batch above the cap B keeps a uniformly random
 * B-subset. Let K ~ Binomial(N, q) be the number of OTHER sampled records (N others: the
 * larger choice is conservative). Reveal K (a post-processing argument: the mechanism that
 * also outputs K dominates the real one). Given K = k:
 * - k < B: no truncation can drop anyone: the step is a Poisson-subsampled Gaussian with
 *   rate q and sensitivity 1;
 * - k >= B: the differing record is kept with probability B/(k+1), and when kept it displaces
 *   a random other record, so the sum changes by g_x - g_y (norm <= 2): a subsampled Gaussian
 *   with rate q B/(k+1) and sensitivity 2 (noise sigma/2).
 * Since delta curves of a label-revealed mixture add, the step's curve is
 *   P(K < B) d_{q,sigma} + sum_{k >= B} P(K = k) d_{qB/(k+1), sigma/2}.
 * Rates for k >= B are grouped in bins (1% wide) and rounded UP to the bin's largest rate
 * (delta grows with the rate), and the binomial tail beyond P(K = k) < 1e-32 goes to the
 * worst (largest) truncated rate.
 * Reproduces the published values (docs/privacy.md, R11: q N = 10, sigma 1, T 128, delta 1e-6: cap 16 -> ~5.10, cap 30 ->
 * ~1.016). Valid for add/remove; replace-one is refused upstream.
 */
export const truncatedPoissonComponents = (
  datasetSize: number,
  batchCap: number,
  q: number,
  sigma: number,
  lg: (x: number) => number
): ReadonlyArray<Component> => {
  const n = datasetSize
  const mean = n * q
  const sd = Math.sqrt(Math.max(mean * (1 - q), 1e-300))
  // P(K < B), summed from the mode outward in linear space relative to the mode.
  const pmf = (k: number) => Math.exp(logBinomPmf(n, q, k, lg))
  // Last k with P(K = k) >= 1e-32; what lies beyond (< 1e-28 in total) goes to the worst bin.
  let kMax = Math.max(batchCap, Math.ceil(mean))
  while (kMax < n && pmf(kMax + 1) >= 1e-32) kMax++
  let below = 0
  const bLo = Math.max(0, Math.floor(mean - 40 * sd - 40))
  if (batchCap > n) return [{ weight: 1, rate: q, sigma }]
  for (let k = bLo; k < Math.min(batchCap, kMax + 1); k++) below += pmf(k)
  below = Math.min(1, below)
  const comps: Array<Component> = []
  if (below > 0) comps.push({ weight: below, rate: q, sigma })
  // Bins in k >= B where the rate q B/(k+1) changes by at most 1% (rounded up to the largest).
  let k = batchCap
  let accounted = below
  while (k <= kMax) {
    const rateHi = (q * batchCap) / (k + 1)
    const kEnd = Math.min(kMax, Math.max(k, Math.floor((k + 1) * 1.01) - 1))
    let w = 0
    for (let j = k; j <= kEnd; j++) w += pmf(j)
    if (w > 0) comps.push({ weight: w, rate: rateHi, sigma: sigma / 2 })
    accounted += w
    k = kEnd + 1
  }
  // Mass not covered (numerical remainder and the far upper tail) at the worst truncated rate.
  const rest = Math.max(0, 1 - accounted)
  if (rest > 0) comps.push({ weight: rest, rate: (q * batchCap) / (batchCap + 1), sigma: sigma / 2 })
  return comps
}

/**
 * hockey-stick delta(eps) of a discretized PLD, rounded up (an upper bound when the PMF is one):
 * inf + sum_{l_i > eps} m_i (1 - e^{eps - l_i}). Each term's computed value is within
 * 2u (|eps| + |l_i| + 2) m_i of the exact one (the rounding of l_i and eps - l_i moves the
 * argument of expm1 by at most u (|eps| + 2|l_i|), expm1 is within 1 ulp, the product rounds),
 * and the sum of n non-negative terms within gamma_n: both are added.
 */
export const pmfDelta = (pmf: PldPmf, epsilon: number): number => {
  let d = 0
  let above = 0
  let maxAbs = 0
  const start = Math.max(0, Math.floor(epsilon / pmf.h) - pmf.lo)
  const n = pmf.masses.length
  // entries whose computed l is a rounding error below epsilon are included (term clamped at
  // 0, its true value is within the term error bound)
  const from = epsilon - 4 * EPS * (Math.abs(epsilon) + 1)
  for (let i = start; i < n; i++) {
    const l = (pmf.lo + i) * pmf.h
    if (l > from) {
      const m = pmf.masses[i]!
      d += m * Math.max(0, -Math.expm1(epsilon - l))
      above += m
      maxAbs = Math.abs(l)
    }
  }
  const termErr = 2 * EPS * (Math.abs(epsilon) + maxAbs + 2) * above * (1 + 1e-9)
  const sumErr = (n + 2) * EPS * 1.01 * d
  return Math.min(1, (pmf.infinityMass + d + termErr + sumErr) * (1 + 4 * EPS))
}

/**
 * Smallest epsilon >= 0 with pmfDelta(epsilon) <= delta (Infinity if none), to within
 * 1e-12 relative (the returned value always satisfies the inequality).
 *
 * Between grid points delta(eps) = A_k - e^{eps - l_k} B_k with A_k = inf + sum_{i>k} m_i and
 * B_k = sum_{i>k} m_i e^{l_k - l_i} (suffix sums, one pass from the top): the grid interval
 * holding the answer and a candidate in it come from them, then pmfDelta (the rigorous
 * evaluation) checks the candidate, stepping up if rounding made it a hair too small.
 */
export const pmfEpsilon = (pmf: PldPmf, delta: number): number => {
  if (pmf.infinityMass > delta) return Infinity
  if (pmfDelta(pmf, 0) <= delta) return 0
  const n = pmf.masses.length
  const eh = Math.exp(-pmf.h)
  let A = pmf.infinityMass
  let B = 0
  // the answer lies in [0, candidate]; refined to the crossing grid interval below
  let candidate = Math.max(0, (pmf.lo + n) * pmf.h)
  // k runs down from the top; (A, B) hold the sums over i > k
  for (let k = n - 1; k >= 0; k--) {
    const lk = (pmf.lo + k) * pmf.h
    if (lk <= 0) break
    if (A - B > delta) {
      // delta(l_k) > delta >= delta(l_{k+1}): solve A - e^{eps - l_k} B = delta on [l_k, l_{k+1}]
      const x = B > 0 ? Math.log((A - delta) / B) : 0
      candidate = Math.min(candidate, lk + Math.max(0, x))
      break
    }
    candidate = lk
    const m = pmf.masses[k]!
    A += m
    B = (B + m) * eh
  }
  const tol = (e: number) => 1e-12 * Math.max(1, e)
  // the rigorous evaluation decides: step up from the candidate until it holds...
  let hi = candidate
  let failed = -1
  let step = tol(candidate)
  while (pmfDelta(pmf, hi) > delta) {
    failed = hi
    hi += step
    step *= 4
  }
  // ...and bisect down to the tolerance (a few evaluations: the candidate is within rounding)
  let lo = failed >= 0 ? failed : Math.max(0, hi - tol(hi))
  if (failed < 0 && pmfDelta(pmf, lo) <= delta) lo = 0 // candidate conservative (rare): full bisection
  for (let it = 0; it < 200 && hi - lo > tol(hi); it++) {
    const mid = 0.5 * (lo + hi)
    if (pmfDelta(pmf, mid) > delta) lo = mid
    else hi = mid
  }
  return hi
}
