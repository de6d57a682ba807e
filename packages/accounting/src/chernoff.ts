/**
 * Chernoff tools for composed PLDs: log-MGFs of (summarized) PMFs, the tilt that focuses a
 * composition on a privacy loss, and the range holding all but a given tail mass of a
 * composition (log P(L > x) <= sum_e T_e log M_e(lambda) - lambda x).
 */
import type { PldPmf } from "@dpipe/accounting/pld"

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
export const chooseLambda = (parts: ReadonlyArray<{ pmf: PldPmf; count: number }>, focus: number): number => {
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

