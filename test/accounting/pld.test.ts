import { describe, expect, it } from "vitest"
import { Result } from "effect"
import { pldDelta, pldEpsilon } from "@dpipe/accounting/pld-accountant"
import {
  composed,
  gaussian,
  poissonSampledGaussian,
  selfComposed,
  truncatedPoissonSampledGaussian,
  type DpEvent
} from "@dpipe/accounting/events"
import { rdpPoissonSubsampledGaussian, DEFAULT_RDP_ORDERS } from "@dpipe/accounting/rdp"
import { epsilonFromRdp } from "@dpipe/accounting/rdp-conversion"

const eps = (e: DpEvent, delta: number) => Result.getOrThrow(pldEpsilon(e, delta)).epsilon
const del = (e: DpEvent, epsilon: number) => Result.getOrThrow(pldDelta(e, epsilon)).delta
const poissonT = (q: number, sigma: number, t: number) => selfComposed(poissonSampledGaussian(q, sigma), t)

/** Hockey-stick divergence of N(1, s^2) vs N(0, s^2) by Simpson's rule (independent of the PLD code). */
const gaussianDeltaByIntegration = (s: number, epsilon: number): number => {
  const lo = -12 * s
  const hi = 1 + 12 * s
  const n = 200_000
  const h = (hi - lo) / n
  const pdf = (x: number, m: number) => Math.exp(-((x - m) ** 2) / (2 * s * s)) / (s * Math.sqrt(2 * Math.PI))
  let sum = 0
  for (let i = 0; i <= n; i++) {
    const x = lo + i * h
    const f = Math.max(0, pdf(x, 1) - Math.exp(epsilon) * pdf(x, 0))
    sum += f * (i === 0 || i === n ? 1 : i % 2 === 1 ? 4 : 2)
  }
  return (sum * h) / 3
}

describe("PLD accountant: public reference values", () => {
  it("Gaussian sigma=sqrt(3) composed 3x: delta(1) = 0.126936 (+-1e-3)", () => {
    expect(Math.abs(del(selfComposed(gaussian(Math.sqrt(3)), 3), 1) - 0.126936)).toBeLessThan(1e-3)
  })

  it("single Gaussian delta agrees with direct numerical integration and is pessimistic", () => {
    for (const [s, e] of [[1, 0.5], [0.8, 2]] as const) {
      const exact = gaussianDeltaByIntegration(s, e)
      const pld = del(gaussian(s), e)
      expect(pld).toBeGreaterThanOrEqual(exact * (1 - 1e-9))
      expect(Math.abs(pld - exact)).toBeLessThan(1e-4 * Math.max(exact, 1e-3))
    }
  })

  it("Poisson q=0.2, sigma=0.5 composed 3x: delta(1) = 0.15594 (+-1e-3)", () => {
    expect(Math.abs(del(poissonT(0.2, 0.5, 3), 1) - 0.15594)).toBeLessThan(1e-3)
  })

  it("q=0.1, sigma=3, T=512, delta=1e-6: epsilon ~3.77", () => {
    expect(Math.abs(eps(poissonT(0.1, 3, 512), 1e-6) - 3.77)).toBeLessThan(5e-3)
  })

  it("Opacus PRV 6.7774 at q=0.04, sigma=1.5, T=2249: PLD within 1e-2 (relative), at ~6.767", () => {
    const e = eps(poissonT(0.04, 1.5, 2249), 1e-5)
    expect(Math.abs(e - 6.7774) / 6.7774).toBeLessThan(1e-2)
    expect(Math.abs(e - 6.767)).toBeLessThan(2e-3)
  })

  it("MNIST q=256/60000, sigma=1.1, T=14063: PLD 2.382", () => {
    expect(Math.abs(eps(poissonT(256 / 60000, 1.1, 14063), 1e-5) - 2.382)).toBeLessThan(2e-3)
  })

  it("truncated Poisson q*N=10 (N=1000), sigma=1, T=128, delta=1e-6: cap 16 -> 5.10, cap 30 -> 1.016, untruncated 1.02", () => {
    const trunc = (cap: number) =>
      selfComposed(truncatedPoissonSampledGaussian({ datasetSize: 1000, batchCap: cap, samplingRate: 0.01, noiseMultiplier: 1 }), 128)
    const e16 = eps(trunc(16), 1e-6)
    const e30 = eps(trunc(30), 1e-6)
    const eu = eps(poissonT(0.01, 1, 128), 1e-6)
    expect(Math.abs(e16 - 5.1)).toBeLessThan(1e-2)
    expect(Math.abs(e30 - 1.016)).toBeLessThan(2e-3)
    expect(Math.abs(eu - 1.02)).toBeLessThan(1e-2)
    expect(e30).toBeGreaterThanOrEqual(eu)
  }, 120_000)
})

describe("PLD accountant: properties", () => {
  it("epsilon grows with T and q, shrinks with sigma", () => {
    const base = eps(poissonT(0.01, 1, 1000), 1e-5)
    expect(eps(poissonT(0.01, 1, 2000), 1e-5)).toBeGreaterThan(base)
    expect(eps(poissonT(0.02, 1, 1000), 1e-5)).toBeGreaterThan(base)
    expect(eps(poissonT(0.01, 1.2, 1000), 1e-5)).toBeLessThan(base)
  })

  it("is at most the RDP epsilon for the Poisson Gaussian", () => {
    for (const [q, s, t] of [[0.01, 1, 1000], [0.1, 3, 512]] as const) {
      const rdp = rdpPoissonSubsampledGaussian(q, s).map((x) => x * t)
      expect(eps(poissonT(q, s, t), 1e-5)).toBeLessThanOrEqual(epsilonFromRdp(DEFAULT_RDP_ORDERS, rdp, 1e-5).epsilon)
    }
  })

  it("composing Gaussians gives the Gaussian with 1/s^2 = sum 1/sigma_i^2 (delta by direct integration, independent of the PLD code)", () => {
    // Balle and Wang 2018; Dong, Roth and Su 2022 (GDP composition): T Gaussians of sigma
    // compose to one of sigma / sqrt(T), and different sigmas add their 1/sigma^2.
    for (const [event, s] of [
      [selfComposed(gaussian(2), 16), 0.5],
      [composed([gaussian(1.5), gaussian(2), selfComposed(gaussian(3), 2)]), 1 / Math.sqrt(1 / 2.25 + 1 / 4 + 2 / 9)]
    ] as const) {
      for (const e of [0.5, 2]) {
        const exact = gaussianDeltaByIntegration(s, e)
        const pld = del(event, e)
        expect(pld).toBeGreaterThanOrEqual(exact * (1 - 1e-9))
        expect(Math.abs(pld - exact)).toBeLessThan(2e-3 * Math.max(exact, 1e-3))
      }
    }
  })

  it("delta(epsilon(delta)) round-trips", () => {
    const e = poissonT(0.01, 1, 2000)
    const epsilon = eps(e, 1e-6)
    const d = del(e, epsilon)
    expect(d).toBeLessThanOrEqual(1e-6 * (1 + 1e-6))
    expect(d).toBeGreaterThan(0.97e-6)
  })

  it("is monotone in the dataset size at VaultGemma's scale and matches the published values (q = 518144/N, sigma 0.614, T 1e5, delta 1.1e-10)", () => {
    const ns = [9.7e9, 1.1e10, 1.27e10]
    const es = ns.map((n) => eps(poissonT(518144 / n, 0.614, 100_000), 1.1e-10))
    for (let i = 1; i < es.length; i++) expect(es[i] ?? NaN).toBeLessThan(es[i - 1] ?? NaN)
    // PLD epsilon ~2.0 at N ~ 9.7e9 and ~1.72 at N ~ 1.27e10 (docs/privacy.md, R12)
    expect(Math.abs((es[0] ?? NaN) - 2.0)).toBeLessThan(0.03)
    expect(Math.abs((es[2] ?? NaN) - 1.72)).toBeLessThan(0.03)
  }, 60_000)

  it("refuses replace-one subsampled events with a typed error", () => {
    const r = pldEpsilon(poissonSampledGaussian(0.01, 1, "replace_one"), 1e-5)
    expect(Result.isFailure(r) && r.failure._tag).toBe("UnsupportedEventError")
  })
})
