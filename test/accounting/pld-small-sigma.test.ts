/**
 * Regression tests for the small-noise-multiplier bug (PLD epsilon collapsed to ~0 at sigma 0.3:
 * the composition forced a tilt and dropped the mass its noise floor zeroed), checked against
 * computations that share no code with the PLD accountant: numerical integration of the
 * mechanism's hockey-stick divergence, the closed form of the Gaussian mechanism, and RDP.
 */
import { describe, expect, it } from "vitest"
import { Result } from "effect"
import { pldDelta, pldEpsilon } from "@dpipe/accounting/pld-accountant"
import { poissonSampledGaussian, selfComposed } from "@dpipe/accounting/events"
import { DEFAULT_RDP_ORDERS, rdpOfEvent } from "@dpipe/accounting/rdp"
import { epsilonFromRdp } from "@dpipe/accounting/rdp-conversion"
import { normalCdf } from "@dpipe/accounting/special"

const DELTA = 1e-6
const pldEps = (q: number, s: number, t: number, h?: number) =>
  Result.getOrThrow(pldEpsilon(selfComposed(poissonSampledGaussian(q, s), t), DELTA, h === undefined ? {} : { valueDiscretization: h })).epsilon
const rdpEps = (q: number, s: number, t: number) =>
  epsilonFromRdp(DEFAULT_RDP_ORDERS, Result.getOrThrow(rdpOfEvent(selfComposed(poissonSampledGaussian(q, s), t))), DELTA).epsilon

/**
 * Exact hockey-stick divergence of one Poisson-subsampled Gaussian step (rate q, noise s,
 * sensitivity 1), max over the add and remove directions, by composite Simpson quadrature of
 * (P - e^eps Q)_+ with P = (1-q) N(0,s^2) + q N(1,s^2), Q = N(0,s^2), and of (Q - e^eps P)_+.
 */
const mixtureDeltaByQuadrature = (q: number, s: number, epsilon: number, n = 400_000): number => {
  const lo = -16 * s
  const hi = 1 + 16 * s
  const h = (hi - lo) / n
  const c = 1 / (s * Math.sqrt(2 * Math.PI))
  const e = Math.exp(epsilon)
  let rem = 0
  let add = 0
  for (let i = 0; i <= n; i++) {
    const x = lo + i * h
    const qx = c * Math.exp(-(x * x) / (2 * s * s))
    const px = (1 - q) * qx + q * c * Math.exp(-((x - 1) ** 2) / (2 * s * s))
    const w = i === 0 || i === n ? 1 : i % 2 === 1 ? 4 : 2
    rem += w * Math.max(0, px - e * qx)
    add += w * Math.max(0, qx - e * px)
  }
  return (Math.max(rem, add) * h) / 3
}

/** Smallest epsilon with delta(epsilon) <= target for a decreasing delta curve (bisection). */
const invert = (delta: (e: number) => number, target: number): number => {
  if (delta(0) <= target) return 0
  let lo = 0
  let hi = 1
  while (delta(hi) > target) hi *= 2
  for (let i = 0; i < 40; i++) {
    const mid = (lo + hi) / 2
    if (delta(mid) > target) lo = mid
    else hi = mid
  }
  return hi
}

/** Exact epsilon of T Gaussian steps = one Gaussian with noise s / sqrt(T) (Balle & Wang 2018, Thm. 8). */
const gaussianEpsilonExact = (s: number, t: number): number => {
  const se = s / Math.sqrt(t)
  const delta = (e: number) => normalCdf(1 / (2 * se) - e * se) - Math.exp(e) * normalCdf(-1 / (2 * se) - e * se)
  return invert(delta, DELTA)
}

const SIGMAS = [0.15, 0.2, 0.3, 0.42, 0.6, 0.85, 1.2, 2, 3.5, 5]
/** Coarser grid than the default (1e-4) to keep the sweep fast; the result stays pessimistic. */
const SWEEP_H = 2e-3

describe("PLD at small noise multipliers", () => {
  it("reproduces the reported case: epsilon grows as sigma shrinks (q 0.0015, T 20, default grid)", () => {
    const es = [0.6, 0.5, 0.42, 0.3].map((s) => pldEps(0.0015, s, 20))
    for (let i = 1; i < es.length; i++) expect(es[i] ?? NaN).toBeGreaterThan(es[i - 1] ?? NaN)
    expect(es[3] ?? NaN).toBeGreaterThan(10)
    expect(es[3] ?? NaN).toBeLessThanOrEqual(rdpEps(0.0015, 0.3, 20))
  }, 30_000)

  for (const [q, t] of [[0.0015, 20], [0.01, 150], [1, 10]] as const) {
    it(`q=${q}, T=${t}: epsilon decreases in sigma over [0.15, 5], PLD <= RDP, and above independent lower bounds`, () => {
      const es = SIGMAS.map((s) => pldEps(q, s, t, SWEEP_H))
      for (let i = 0; i < SIGMAS.length; i++) {
        const s = SIGMAS[i] ?? NaN
        const e = es[i] ?? NaN
        expect(Number.isFinite(e)).toBe(true)
        if (i > 0) expect(e).toBeLessThan(es[i - 1] ?? NaN)
        const rdp = rdpEps(q, s, t)
        expect(e).toBeLessThanOrEqual(rdp)
        // Where RDP's conversion is tight-ish (epsilon >= 5) PLD is within a factor 0.75 of it
        // (observed >= 0.78 over these grids; the bug gave 1e-13). Below that the RDP
        // conversion is loose (PLD/RDP ~0.08 at q 0.0015, sigma 1.7), so use exact bounds.
        if (rdp >= 5) expect(e).toBeGreaterThanOrEqual(0.75 * rdp)
        if (q === 1) {
          // exact: PLD is a pessimistic estimate, and tight
          const exact = gaussianEpsilonExact(s, t)
          expect(e).toBeGreaterThanOrEqual(exact * (1 - 1e-9))
          expect(e).toBeLessThanOrEqual(exact * (1 + 2e-3) + 1e-3)
        }
      }
      if (q < 1) {
        // composing more steps cannot help: T-step epsilon >= the exact one-step epsilon
        for (const s of [0.15, 0.3, 0.6]) {
          const one = invert((e) => mixtureDeltaByQuadrature(q, s, e, 60_000), DELTA)
          expect(es[SIGMAS.indexOf(s)] ?? NaN).toBeGreaterThanOrEqual(one * (1 - 1e-4))
        }
      }
    }, 60_000)
  }

  it("T=1: PLD delta(eps) of the Poisson-subsampled Gaussian is >= and close to the quadrature", () => {
    for (const [q, s, e] of [
      [0.0015, 0.3, 3],
      [0.0015, 0.15, 10],
      [0.01, 0.5, 1],
      [0.01, 0.2, 8],
      [0.2, 0.8, 0.5],
      [0.0015, 1, 0.001]
    ] as const) {
      const exact = mixtureDeltaByQuadrature(q, s, e)
      const pld = Result.getOrThrow(pldDelta(poissonSampledGaussian(q, s), e)).delta
      expect(pld).toBeGreaterThanOrEqual(exact * (1 - 1e-7))
      expect(pld - exact).toBeLessThanOrEqual(2e-3 * exact + 1e-12)
    }
  }, 30_000)

  it("single steps stay finite and pessimistic down to sigma 0.1", () => {
    const one = invert((e) => mixtureDeltaByQuadrature(0.0015, 0.1, e, 100_000), DELTA)
    const e = pldEps(0.0015, 0.1, 1)
    expect(e).toBeGreaterThanOrEqual(one * (1 - 1e-4))
    expect(e).toBeLessThanOrEqual(one * 1.01 + 1e-3)
  }, 30_000)
})

