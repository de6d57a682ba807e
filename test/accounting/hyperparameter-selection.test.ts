import { describe, expect, it } from "vitest"
import { Result } from "effect"
import {
  expectedTrials,
  fixedTrials,
  geometricTrials,
  logTrialCountPmf,
  poissonTrials,
  sampleTrialCount,
  selectionRdp,
  truncatedNegativeBinomial,
  type TrialCount
} from "@dpipe/accounting/hyperparameter-selection"
import { DEFAULT_RDP_ORDERS, rdpPoissonSubsampledGaussian } from "@dpipe/accounting/rdp"
import { epsilonFromRdp } from "@dpipe/accounting/rdp-conversion"
import { keyedStream } from "@dpipe/random/keyed-random"

const fineOrders = Array.from({ length: 20000 }, (_, i) => 1.001 + i * 0.005)
const gaussianRdp = (sigma: number, orders: ReadonlyArray<number>) => Float64Array.from(orders, (a) => a / (2 * sigma * sigma))
const sel = (orders: ReadonlyArray<number>, rdp: Float64Array, d: TrialCount) => Result.getOrThrow(selectionRdp(orders, rdp, d))

/** Theorem 2 for a Gaussian trial (RDP a / 2s^2), minimised over lambdaHat >= 1 in closed form. */
const theorem2Gaussian = (sigma: number, eta: number, gamma: number, lambda: number): number => {
  const L = Math.log(1 / gamma)
  const star = sigma * Math.sqrt(2 * L)
  const inner = star >= 1 ? (1 + eta) * (Math.sqrt(2 * L) / sigma - 1 / (2 * sigma * sigma)) : (1 + eta) * L
  const meanK = eta === 0 ? (1 / gamma - 1) / L : (eta * (1 - gamma)) / (gamma * (1 - Math.pow(gamma, eta)))
  return lambda / (2 * sigma * sigma) + inner + Math.log(meanK) / (lambda - 1)
}

/** The exact (eps, delta) curve of the Gaussian mechanism (Balle and Wang 2018, Theorem 8). */
const gaussianDelta = (sigma: number, eps: number): number => {
  const phi = (x: number) => 0.5 * (1 + erf(x / Math.SQRT2))
  return phi(1 / (2 * sigma) - eps * sigma) - Math.exp(eps) * phi(-1 / (2 * sigma) - eps * sigma)
}
// Abramowitz-Stegun 7.1.26 is too coarse; use the series / continued fraction via the complementary function.
const erf = (x: number): number => {
  // high-precision erf by its Taylor series for |x| < 3, else 1 - tiny
  if (Math.abs(x) > 6) return Math.sign(x)
  let sum = 0
  let term = x
  for (let n = 0; n < 200; n++) {
    sum += term / (2 * n + 1)
    term *= (-x * x) / (n + 1)
  }
  return (2 / Math.sqrt(Math.PI)) * sum
}

describe("private hyperparameter selection (Papernot and Steinke 2022)", () => {
  it("Theorem 2 on a Gaussian trial equals its closed-form minimum over lambdaHat (fine orders)", () => {
    for (const [sigma, eta, gamma] of [[2, 1, 0.1], [4, 0, 0.05], [1.5, 0.5, 0.2], [3, -0.5, 0.01], [0.8, 1, 0.5]] as const) {
      const got = sel(fineOrders, gaussianRdp(sigma, fineOrders), truncatedNegativeBinomial(eta, gamma))
      for (const lambda of [2, 8, 32]) {
        const i = fineOrders.findIndex((a) => Math.abs(a - lambda) < 1e-9 || a > lambda)
        const want = theorem2Gaussian(sigma, eta, gamma, fineOrders[i] as number)
        expect(got[i]).toBeGreaterThanOrEqual(want - 1e-12)
        expect((got[i] as number) - want).toBeLessThan(1e-4)
      }
    }
  })

  it("K = 1 is one trial; a fixed K = k composes k trials", () => {
    const rdp = rdpPoissonSubsampledGaussian(0.01, 1.1, DEFAULT_RDP_ORDERS).map((r) => r * 1000)
    expect(Array.from(sel(DEFAULT_RDP_ORDERS, rdp, fixedTrials(1)))).toEqual(Array.from(rdp))
    const five = sel(DEFAULT_RDP_ORDERS, rdp, fixedTrials(5))
    rdp.forEach((r, i) => expect(five[i]).toBeCloseTo(5 * r, 12))
    // a truncated negative binomial concentrated on K = 1 (gamma -> 1) tends to one trial
    const near1 = sel(DEFAULT_RDP_ORDERS, rdp, truncatedNegativeBinomial(1, 1 - 1e-9))
    const eps1 = epsilonFromRdp(DEFAULT_RDP_ORDERS, rdp, 1e-6).epsilon
    expect(epsilonFromRdp(DEFAULT_RDP_ORDERS, near1, 1e-6).epsilon - eps1).toBeLessThan(1e-6)
    expect(epsilonFromRdp(DEFAULT_RDP_ORDERS, near1, 1e-6).epsilon).toBeGreaterThanOrEqual(eps1)
  })

  it("the selected release costs about log E[K] more: equal steps per tenfold E[K], far below composing E[K] trials", () => {
    const rdp = rdpPoissonSubsampledGaussian(0.01, 1.1, DEFAULT_RDP_ORDERS).map((r) => r * 1000)
    const eps = (mean: number) => epsilonFromRdp(DEFAULT_RDP_ORDERS, sel(DEFAULT_RDP_ORDERS, rdp, geometricTrials(mean)), 1e-6).epsilon
    const [e10, e100, e1000] = [eps(10), eps(100), eps(1000)]
    const step1 = e100 - e10
    const step2 = e1000 - e100
    expect(step1).toBeGreaterThan(0)
    expect(step2).toBeGreaterThan(0)
    expect(Math.abs(step1 - step2) / step1).toBeLessThan(0.3)
    const composed100 = epsilonFromRdp(DEFAULT_RDP_ORDERS, rdp.map((r) => 100 * r), 1e-6).epsilon
    expect(e100).toBeLessThan(composed100 / 3)
  })

  it("Theorem 6 (Poisson K) on a Gaussian trial is at least the formula with the exact deltaHat (deltaHat from RDP is looser: within 30%)", () => {
    const sigma = 3
    const orders = DEFAULT_RDP_ORDERS.filter((a) => a >= 1.5 && a <= 64)
    const rdp = gaussianRdp(sigma, orders)
    for (const mu of [2, 10]) {
      const got = sel(orders, rdp, poissonTrials(mu))
      orders.forEach((lambda, i) => {
        const exact = lambda / (2 * sigma * sigma) + mu * gaussianDelta(sigma, Math.log1p(1 / (lambda - 1))) + Math.log(mu) / (lambda - 1)
        expect(got[i]).toBeGreaterThanOrEqual(exact - 1e-12)
      })
      const eGot = epsilonFromRdp(orders, got, 1e-6).epsilon
      const exactCurve = orders.map((lambda) => lambda / (2 * sigma * sigma) + mu * gaussianDelta(sigma, Math.log1p(1 / (lambda - 1))) + Math.log(mu) / (lambda - 1))
      const eExact = epsilonFromRdp(orders, exactCurve, 1e-6).epsilon
      expect(eGot).toBeGreaterThanOrEqual(eExact)
      expect(eGot / eExact).toBeLessThan(1.3)
    }
  })

  it("the pmf sums to 1 with mean E[K], and keyed draws have that mean (4 standard errors)", () => {
    const key = new Uint8Array(32).fill(7)
    for (const d of [truncatedNegativeBinomial(1, 0.2), truncatedNegativeBinomial(0, 0.1), truncatedNegativeBinomial(0.5, 0.3), truncatedNegativeBinomial(-0.5, 0.05), poissonTrials(3)]) {
      let total = 0
      let mean = 0
      let second = 0
      for (let k = 0; k < 5000; k++) {
        const p = Math.exp(logTrialCountPmf(d, k))
        total += p
        mean += k * p
        second += k * k * p
      }
      expect(total).toBeCloseTo(1, 9)
      expect(mean).toBeCloseTo(expectedTrials(d), 6)
      const n = 20000
      const s = keyedStream(key, "trials", 0)
      let sum = 0
      for (let i = 0; i < n; i++) sum += sampleTrialCount(d, s.uniform())
      const se = Math.sqrt((second - mean * mean) / n)
      expect(Math.abs(sum / n - mean)).toBeLessThan(4 * se)
    }
    expect(sampleTrialCount(fixedTrials(3), 0.99)).toBe(3)
  })

  it("refuses a bad distribution or a curve at other orders, naming the fix", () => {
    const rdp = gaussianRdp(2, DEFAULT_RDP_ORDERS)
    const bad = selectionRdp(DEFAULT_RDP_ORDERS, rdp, truncatedNegativeBinomial(-1, 0.5))
    expect(Result.isFailure(bad) && bad.failure.message).toMatch(/eta > -1/)
    const badG = selectionRdp(DEFAULT_RDP_ORDERS, rdp, truncatedNegativeBinomial(1, 1))
    expect(Result.isFailure(badG) && badG.failure.message).toMatch(/0 < gamma < 1/)
    const len = selectionRdp(DEFAULT_RDP_ORDERS, rdp.subarray(1), geometricTrials(4))
    expect(Result.isFailure(len) && len.failure.message).toMatch(/same orders/)
  })
})
