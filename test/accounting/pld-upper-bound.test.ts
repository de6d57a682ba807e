/**
 * The PLD composition is a guaranteed upper bound (pld-composition.ts), not just close to one:
 * - against an independent composition of the same discretized leaves by direct convolution
 *   (no FFT, no tilting: every entry within ~1e-12 relative), at deltas down to 1e-30;
 * - monotone and smooth in the dataset size at VaultGemma's scale (T = 1e5, delta = 1.1e-10),
 *   where dp_accounting's float64 FFT composition drifts by about +-0.02 (docs/privacy.md, A3);
 * - epsilon read from a PLD satisfies its delta, and agrees with plain bisection.
 */
import { describe, expect, it } from "vitest"
import { Result } from "effect"
import { pldEpsilon } from "@dpipe/accounting/pld-accountant"
import { poissonSampledGaussian, selfComposed } from "@dpipe/accounting/events"
import { pmfDelta, pmfEpsilon, poissonGaussianPld, type PldPmf } from "@dpipe/accounting/pld"
import { composePlds } from "@dpipe/accounting/pld-composition"
import { inverseTransform, transform } from "@dpipe/accounting/fft"
import { directConvolution } from "./helpers.ts"

/** Direct convolution of two PMFs on the same grid (relative error ~ n u per entry). */
const convolveDirect = (a: PldPmf, b: PldPmf): PldPmf => {
  const out = directConvolution(a.masses, b.masses)
  // drop entries below 1e-300 at both ends (lowers the reference: it stays a lower bound)
  let lo = 0
  let hi = out.length - 1
  while (lo < hi && out[lo]! < 1e-300) lo++
  while (hi > lo && out[hi]! < 1e-300) hi--
  const inf = a.infinityMass + b.infinityMass
  return { h: a.h, lo: a.lo + b.lo + lo, masses: out.slice(lo, hi + 1), infinityMass: inf }
}

/** p composed t times by repeated squaring with the given convolution. */
const power = (p: PldPmf, t: number, convolve: (a: PldPmf, b: PldPmf) => PldPmf): PldPmf => {
  let result: PldPmf | undefined
  let pw = p
  for (let k = t; k > 0; k = Math.floor(k / 2)) {
    if (k % 2 === 1) result = result === undefined ? pw : convolve(result, pw)
    if (k > 1) pw = convolve(pw, pw)
  }
  return result ?? p
}
const powerDirect = (p: PldPmf, t: number): PldPmf => power(p, t, convolveDirect)

/**
 * A scheme like dp_accounting's, for contrast: plain float64 FFT convolution (no tilting, no error
 * bound), tails of mass below 1e-15 cut, then negative rounding noise clipped to 0.
 */
const convolvePlainFft = (a: PldPmf, b: PldPmf): PldPmf => {
  const len = a.masses.length + b.masses.length - 1
  let n = 2
  while (n < len) n *= 2
  const x = new Float64Array(2 * n)
  const y = new Float64Array(2 * n)
  a.masses.forEach((v, i) => (x[2 * i] = v))
  b.masses.forEach((v, i) => (y[2 * i] = v))
  transform(x)
  transform(y)
  for (let k = 0; k < n; k++) {
    const xr = x[2 * k]!, xi = x[2 * k + 1]!, yr = y[2 * k]!, yi = y[2 * k + 1]!
    x[2 * k] = xr * yr - xi * yi
    x[2 * k + 1] = xr * yi + xi * yr
  }
  inverseTransform(x)
  const m = Float64Array.from({ length: len }, (_, i) => x[2 * i]!)
  // tails cut on the raw values (rounding noise included, as the reference sums them)
  let lo = 0
  let hi = len - 1
  let cut = 0
  while (lo < hi && cut + m[lo]! < 5e-16) cut += m[lo++]!
  cut = 0
  while (hi > lo && cut + m[hi]! < 5e-16) cut += m[hi--]!
  for (let i = lo; i <= hi; i++) m[i] = Math.max(0, m[i]!)
  return { h: a.h, lo: a.lo + b.lo + lo, masses: m.slice(lo, hi + 1), infinityMass: a.infinityMass + b.infinityMass + cut }
}

/** Hockey-stick delta by a plain sum (independent of pmfDelta). */
const deltaOf = (p: PldPmf, epsilon: number): number => {
  let d = p.infinityMass
  for (let i = 0; i < p.masses.length; i++) {
    const l = (p.lo + i) * p.h
    if (l > epsilon) d += p.masses[i]! * (1 - Math.exp(epsilon - l))
  }
  return d
}

describe("PLD composition: guaranteed upper bound", () => {
  it("dominates the exact composition of the same discretized leaves (direct convolution), and is tight", () => {
    const h = 5e-3
    const t = 16
    const pair = poissonGaussianPld(0.05, 0.8, h)
    const exact = { remove: powerDirect(pair.remove, t), add: powerDirect(pair.add, t) }
    let compared = 0
    for (const focus of [1, 4]) {
      const { pair: c } = composePlds([{ pair, count: t }], { tailMass: 1e-40, focusEpsilon: focus })
      for (let e = 0.25; e <= 10; e += 0.25) {
        for (const dir of ["remove", "add"] as const) {
          const ref = deltaOf(exact[dir], e)
          expect(pmfDelta(c[dir], e), `${dir} eps ${e} focus ${focus}`).toBeGreaterThanOrEqual(ref * (1 - 1e-11))
          if (ref > 1e-30) compared++
        }
        // tight where the tilt puts its precision: the accountant's delta (the larger
        // direction) within 1e-6 for deltas above 1e-14 (the smaller direction's far tail,
        // 1e10 below, may be looser)
        const ref = Math.max(deltaOf(exact.remove, e), deltaOf(exact.add, e))
        const ours = Math.max(pmfDelta(c.remove, e), pmfDelta(c.add, e))
        if (ref > 1e-14 && Math.abs(e - focus) < 2) expect(ours, `eps ${e} focus ${focus}`).toBeLessThanOrEqual(ref * (1 + 1e-6))
      }
    }
    expect(compared).toBeGreaterThan(60)
  }, 60_000)

  it("is monotone and smooth in the dataset size at VaultGemma's scale (q = 518144/N, sigma 0.614, T 1e5, delta 1.1e-10)", () => {
    // 0.25% steps in N move epsilon by ~0.004, well below the reference's +-0.02 drift
    const ns = Array.from({ length: 8 }, (_, k) => 9.7e9 * (1 + 0.0025 * k))
    const es = ns.map((n) => Result.getOrThrow(pldEpsilon(selfComposed(poissonSampledGaussian(518144 / n, 0.614), 100_000), 1.1e-10)).epsilon)
    const steps = es.slice(1).map((e, i) => e - es[i]!)
    for (const s of steps) expect(s).toBeLessThan(0)
    // smooth: consecutive steps differ by less than 2% of a step (no rounding noise)
    for (let i = 1; i < steps.length; i++) expect(Math.abs(steps[i]! - steps[i - 1]!)).toBeLessThan(0.02 * Math.abs(steps[i]!))
    expect(Math.abs(es[0]! - 2.0)).toBeLessThan(0.03)
  }, 120_000)

  it("is a regime where plain float64 FFT composition (as in dp_accounting) is NOT monotone, so the test above can fail", () => {
    const ns = Array.from({ length: 8 }, (_, k) => 9.7e9 * (1 + 0.0025 * k))
    const es = ns.map((n) => pmfEpsilon(power(poissonGaussianPld(518144 / n, 0.614).remove, 100_000, convolvePlainFft), 1.1e-10))
    const steps = es.slice(1).map((e, i) => e - es[i]!)
    // observed here: steps of +7e-3, -1e-2, +5e-2, -6e-2, ...: rounding noise larger than the trend
    expect(steps.some((s) => s > 0)).toBe(true)
  }, 120_000)
})

describe("epsilon from a PLD", () => {
  it("satisfies its delta and agrees with plain bisection on the hockey-stick curve", () => {
    const { pair } = composePlds([{ pair: poissonGaussianPld(0.02, 0.9, 1e-3), count: 300 }], { focusEpsilon: 3 })
    for (const delta of [1e-3, 1e-5, 1e-8, 1e-12]) {
      for (const pmf of [pair.remove, pair.add]) {
        const e = pmfEpsilon(pmf, delta)
        expect(pmfDelta(pmf, e)).toBeLessThanOrEqual(delta)
        let lo = 0
        let hi = 100
        for (let i = 0; i < 200; i++) {
          const mid = (lo + hi) / 2
          if (pmfDelta(pmf, mid) > delta) lo = mid
          else hi = mid
        }
        expect(Math.abs(e - hi)).toBeLessThanOrEqual(1e-11 * Math.max(1, hi))
      }
    }
  })
})
