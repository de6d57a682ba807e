/**
 * Exponentially tilted measures on a loss grid, stored so that rescaling is exact: mass
 * a_i = w_i 2^p e^{-lambda l_i} at l_i = (lo + i) h, p an integer. Conversions between the
 * weights w and the masses a round UP (a slack factor K covers the argument's and exp's
 * rounding), so that whatever is built from them stays an upper bound (pld-composition.ts).
 */
import type { PldPmf } from "@dpipe/accounting/pld"
import { sumUpper, TINY, UNIT_ROUNDOFF as U } from "@dpipe/accounting/internal/rounding"

/**
 * A tilted measure: a_i = w_i 2^p e^{-lambda l_i}, l_i = (lo + i) h (real arithmetic on the
 * stored floats), plus `inf` at +infinity. `mass` bounds sum_i a_i from above.
 */
export interface Tilted {
  readonly lo: number
  readonly w: Float64Array
  readonly p: number
  readonly mass: number
  readonly inf: number
}

/** Entries per block of the blockwise exponentials in untiltUpper. */
const BLOCK = 256

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
export const untiltUpper = (w: Float64Array, lo: number, p: number, lambda: number, h: number, out: Float64Array): number => {
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
export const tiltOneUpper = (m: number, l: number, p: number, lambda: number): number => {
  if (m <= 0) return 0
  const K = 1 + 8 * U * (Math.abs(p) * Math.LN2 + Math.abs(lambda * l)) + 32 * U
  const x = lambda * l - p * Math.LN2
  const v = x < 700 ? m * Math.exp(x) * K : Math.exp(Math.log(m) + x) * K * (1 + 4 * U * Math.abs(x))
  return v < TINY ? v + TINY : v
}

/** Exponent e with 2^e <= max < 2^(e+1) (for power-of-two normalization). */
export const exponentOf = (max: number): number => {
  let e = Math.floor(Math.log2(max))
  while (2 ** e > max) e--
  while (2 ** (e + 1) <= max) e++
  return e
}

/** Scales w by 2^-e in place (exact except below the normal range, where TINY is added). */
export const scalePow2 = (w: Float64Array, e: number): void => {
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
export const tilt = (pmf: PldPmf, lambda: number): Tilted => {
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
export const untilt = (t: Tilted, lambda: number, h: number): PldPmf => {
  const masses = new Float64Array(t.w.length)
  untiltUpper(t.w, t.lo, t.p, lambda, h, masses)
  return { h, lo: t.lo, masses, infinityMass: Math.min(1, t.inf) }
}

