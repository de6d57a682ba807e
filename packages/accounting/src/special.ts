/**
 * Special functions for the accountants, in float64, written out so that their accuracy
 * is known (tested in test/accounting/special.test.ts against published values and a
 * 200-digit evaluation: erfc within 5e-14 relative, the PLD accountant's assumption).
 *
 * - erfc / log erfc: for |x| < 1/2 the everywhere-positive series
 *   erf(x) = 2/sqrt(pi) e^{-x^2} sum_n 2^n x^{2n+1} / (1*3*...*(2n+1))  (Abramowitz & Stegun 7.1.6);
 *   for 1/2 <= x < 6 a Taylor expansion from a table built with the series (x < 2) and the
 *   continued fraction (x >= 2); for x >= 6 the continued fraction
 *   erfc(x) = e^{-x^2}/sqrt(pi) * 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + ...))))  (A&S 7.1.14),
 *   evaluated with the modified Lentz algorithm (Press et al., Numerical Recipes 3rd ed. 5.2),
 *   in log space so that tails down to e^{-10^6} stay representable.
 * - log Gamma: Lanczos approximation, g = 7, n = 9 (Lanczos 1964; coefficients of Godfrey),
 *   relative error about 1e-15 for x > 0.5, reflection formula below.
 * - logAddExp / signed log sums for series evaluated in log space.
 */

const SQRT_PI = Math.sqrt(Math.PI)
const LOG_SQRT_PI = Math.log(SQRT_PI)
const SQRT2 = Math.SQRT2

/** Continued fraction 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + ...)))) for x >= 2 (A&S 7.1.14). */
const erfcContinuedFraction = (x: number): number => {
  const tiny = 1e-300
  // f = b0 + a1/(b1 + a2/(b2 + ...)) with b_k = x, a_k = k/2; we want 1/f.
  let f = x
  let c = x
  let d = 0
  for (let k = 1; k < 5000; k++) {
    const a = k / 2
    d = x + a * d
    if (Math.abs(d) < tiny) d = tiny
    c = x + a / c
    if (Math.abs(c) < tiny) c = tiny
    d = 1 / d
    const delta = c * d
    f *= delta
    if (Math.abs(delta - 1) < 1e-16) break
  }
  return 1 / f
}

/** erf(x) for |x| < 2 by the positive series (A&S 7.1.6); relative error ~1e-16. */
const erfSeries = (x: number): number => {
  if (x < 0) return -erfSeries(-x)
  const x2 = x * x
  let term = x
  let sum = x
  for (let n = 1; n < 200; n++) {
    term *= (2 * x2) / (2 * n + 1)
    sum += term
    if (term < sum * 1e-17) break
  }
  return (2 / SQRT_PI) * Math.exp(-x2) * sum
}

/**
 * erfc(x) for 0 <= x < 2 from the alternating series of erf (A&S 7.1.5) in 60-digit integer
 * arithmetic: 1 - erf(x) in float64 would cancel (relative error up to ~6e-14 near x = 2,
 * found by the 200-digit test), so the table entries below 2 are computed exactly enough
 * here. x must be a multiple of 2^-20 (the table's nodes are).
 */
const erfcFixedPoint = (x: number): number => {
  const one = 10n ** 60n
  // pi * 10^60
  const pi = 3141592653589793238462643383279502884197169399375105820974944n
  // sqrt(pi) by Newton's method on integers, from above
  const v = pi * one
  let r = 2n * one
  for (;;) {
    const y = (r + v / r) / 2n
    if (y >= r) break
    r = y
  }
  const X = (BigInt(Math.round(x * 2 ** 20)) * one) / 2n ** 20n
  const X2 = (X * X) / one
  let term = X
  let sum = X
  for (let n = 1n; ; n++) {
    term = (term * X2) / one / n
    if (term === 0n) break
    sum += (n % 2n === 1n ? -1n : 1n) * (term / (2n * n + 1n))
  }
  const erfc = one - (2n * sum * one) / r
  return Number((erfc * 10n ** 20n) / one) / 1e20
}

/** Reference erfc for 0 <= x, for the table: exact series below 2, continued fraction above. */
const erfcSlow = (x: number): number => (x < 2 ? erfcFixedPoint(x) : Math.exp(-x * x - LOG_SQRT_PI) * erfcContinuedFraction(x))

/**
 * Table for 0.5 <= x < 6 (step 1/32) used by a Taylor expansion, since the series and the
 * continued fraction both converge slowly there:
 *   erfc(x0 + t) = erfc(x0) + (2/sqrt(pi)) e^{-x0^2} sum_{n>=1} (-1)^n H_{n-1}(x0) t^n / n!
 * (d^n/dx^n erfc = (-1)^n (2/sqrt pi) H_{n-1}(x) e^{-x^2}, A&S 7.1.19), |t| <= 1/64, 13 terms.
 */
const TABLE_STEP = 1 / 32
const TABLE_LO = 0.5
const TABLE_HI = 6
let erfcTable: Float64Array | undefined
const table = (): Float64Array => {
  if (erfcTable === undefined) {
    const n = Math.round((TABLE_HI - TABLE_LO) / TABLE_STEP) + 1
    erfcTable = new Float64Array(n)
    for (let i = 0; i < n; i++) erfcTable[i] = erfcSlow(TABLE_LO + i * TABLE_STEP)
  }
  return erfcTable
}

const erfcTaylor = (x: number): number => {
  const i = Math.round((x - TABLE_LO) / TABLE_STEP)
  const x0 = TABLE_LO + i * TABLE_STEP
  const t = x - x0
  // Hermite polynomials H_0 = 1, H_1 = 2x, H_{n+1} = 2x H_n - 2n H_{n-1}
  let hPrev = 1
  let hCur = 2 * x0
  let sum = -hPrev * t // n = 1: (-1)^1 H_0 t / 1!
  let tn = t
  for (let n = 2; n <= 13; n++) {
    tn *= t / n
    sum += (n % 2 === 0 ? 1 : -1) * hCur * tn
    const hNext = 2 * x0 * hCur - 2 * (n - 1) * hPrev
    hPrev = hCur
    hCur = hNext
  }
  return (table()[i] ?? 0) + (2 / SQRT_PI) * Math.exp(-x0 * x0) * sum
}

/** log(erfc(x)) for any real x, accurate in the far right tail. */
export const logErfc = (x: number): number => {
  if (x === Infinity) return -Infinity
  if (x === -Infinity) return Math.log(2)
  if (x >= TABLE_HI) return -x * x - LOG_SQRT_PI + Math.log(erfcContinuedFraction(x))
  if (x >= TABLE_LO) return Math.log(erfcTaylor(x))
  if (x > -TABLE_LO) return Math.log1p(-erfSeries(x))
  return Math.log(2 - erfc(-x))
}

/** erfc(x). */
export const erfc = (x: number): number => {
  if (x >= TABLE_HI) return Math.exp(logErfc(x))
  if (x >= TABLE_LO) return erfcTaylor(x)
  if (x > -TABLE_LO) return 1 - erfSeries(x)
  return 2 - erfc(-x)
}

/** Standard normal upper tail Phi_bar(x) = P(Z > x) = erfc(x/sqrt 2)/2. */
export const normalSf = (x: number): number => 0.5 * erfc(x / SQRT2)

/** Standard normal CDF Phi(x). */
export const normalCdf = (x: number): number => 0.5 * erfc(-x / SQRT2)

/** log P(Z > x). */
export const logNormalSf = (x: number): number => Math.log(0.5) + logErfc(x / SQRT2)

const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
  -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6,
  1.5056327351493116e-7
] as const

/** log|Gamma(x)| (Lanczos, g = 7). */
export const logGamma = (x: number): number => {
  if (x < 0.5) {
    // Reflection: Gamma(x) Gamma(1-x) = pi / sin(pi x)
    return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x)
  }
  const z = x - 1
  let a = LANCZOS[0]
  const t = z + 7.5
  for (let i = 1; i < 9; i++) a += (LANCZOS[i] ?? 0) / (z + i)
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a)
}

/** log(e^a + e^b) without overflow. */
export const logAddExp = (a: number, b: number): number => {
  if (a === -Infinity) return b
  if (b === -Infinity) return a
  const m = Math.max(a, b)
  return m + Math.log1p(Math.exp(-Math.abs(a - b)))
}

/** A signed number kept as sign * exp(log): lets alternating series be summed in log space. */
export interface SignedLog {
  readonly sign: -1 | 0 | 1
  readonly log: number
}

export const SIGNED_ZERO: SignedLog = { sign: 0, log: -Infinity }

/** Adds sign * exp(log) to acc. */
export const signedLogAdd = (acc: SignedLog, sign: -1 | 1, log: number): SignedLog => {
  if (log === -Infinity) return acc
  if (acc.sign === 0) return { sign, log }
  if (acc.sign === sign) return { sign, log: logAddExp(acc.log, log) }
  if (acc.log > log) return { sign: acc.sign, log: acc.log + Math.log1p(-Math.exp(log - acc.log)) }
  if (acc.log < log) return { sign, log: log + Math.log1p(-Math.exp(acc.log - log)) }
  return SIGNED_ZERO
}
