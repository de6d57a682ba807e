/**
 * The PLD composition is a guaranteed upper bound (pld-composition.ts), not just close to one:
 * - against an independent composition of the same discretized leaves by direct convolution
 *   (no FFT, no tilting: every entry within ~1e-12 relative), at deltas down to 1e-30;
 * - monotone and smooth in the dataset size at VaultGemma's scale (T = 1e5, delta = 1.1e-10),
 *   where dp_accounting's float64 FFT composition drifts by about +-0.02 (DP-NOTES.md);
 * - epsilon read from a PLD satisfies its delta, and agrees with plain bisection.
 */
import { describe, expect, it } from "vitest"
import { Result } from "effect"
import { pldEpsilon } from "@dpipe/stages/accounting/pld-accountant"
import { poissonSampledGaussian, selfComposed } from "@dpipe/stages/accounting/events"
import { pmfDelta, pmfEpsilon, poissonGaussianPld, type PldPmf } from "@dpipe/stages/accounting/pld"
import { composePlds } from "@dpipe/stages/accounting/pld-composition"

/** Direct convolution of two PMFs on the same grid (relative error ~ n u per entry). */
const convolveDirect = (a: PldPmf, b: PldPmf): PldPmf => {
  const out = new Float64Array(a.masses.length + b.masses.length - 1)
  for (let i = 0; i < a.masses.length; i++) {
    const ai = a.masses[i]!
    if (ai === 0) continue
    for (let j = 0; j < b.masses.length; j++) out[i + j] = out[i + j]! + ai * b.masses[j]!
  }
  // drop entries below 1e-300 at both ends (lowers the reference: it stays a lower bound)
  let lo = 0
  let hi = out.length - 1
  while (lo < hi && out[lo]! < 1e-300) lo++
  while (hi > lo && out[hi]! < 1e-300) hi--
  const inf = a.infinityMass + b.infinityMass
  return { h: a.h, lo: a.lo + b.lo + lo, masses: out.slice(lo, hi + 1), infinityMass: inf }
}

const powerDirect = (p: PldPmf, t: number): PldPmf => {
  let result: PldPmf | undefined
  let power = p
  for (let k = t; k > 0; k = Math.floor(k / 2)) {
    if (k % 2 === 1) result = result === undefined ? power : convolveDirect(result, power)
    if (k > 1) power = convolveDirect(power, power)
  }
  return result ?? p
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
