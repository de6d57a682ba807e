import { describe, expect, it } from "vitest"
import { Result } from "effect"
import {
  DEFAULT_RDP_ORDERS,
  rdpOfEvent,
  rdpPoissonSubsampledGaussian
} from "@dpipe/accounting/rdp"
import { deltaFromRdp, epsilonFromRdp } from "@dpipe/accounting/rdp-conversion"
import {
  composed,
  gaussian,
  poissonSampledGaussian,
  selfComposed,
  truncatedPoissonSampledGaussian
} from "@dpipe/accounting/events"

/** Orders used by Opacus and TF Privacy's compute_dp_sgd_privacy: 1.1..10.9, 12..63. */
const OPACUS_ORDERS = [
  ...Array.from({ length: 99 }, (_, i) => 1 + (i + 1) / 10),
  ...Array.from({ length: 52 }, (_, i) => 12 + i)
]
/** TF Privacy's older tutorial orders. */
const LEGACY_ORDERS = [1.25, 1.5, 1.75, 2, 2.25, 2.5, 3, 3.5, 4, 4.5, ...Array.from({ length: 59 }, (_, i) => 5 + i), 128, 256, 512]

const scaled = (r: Float64Array, t: number) => r.map((x) => x * t)

const relErr = (a: number, b: number) => Math.abs(a - b) / Math.abs(b)

describe("RDP of the Poisson-subsampled Gaussian (public reference values)", () => {
  it("matches dp_accounting's values at q=0.01, sigma=2.5, T=50 (rtol 1e-4)", () => {
    const orders = [1.5, 2.5, 5, 50, 100]
    const expected = [6.70579741e-4, 1.0854871e-3, 2.18075656e-3, 2.38460375e-2, 1.67416308e2]
    const got = scaled(rdpPoissonSubsampledGaussian(0.01, 2.5, orders), 50)
    expected.forEach((e, k) => expect(relErr(got[k] ?? NaN, e)).toBeLessThan(1e-4))
  })

  it("converts constant RDP 1.1 at orders 2..32 to epsilon 1.32783806176 at delta 1e-5", () => {
    const orders = Array.from({ length: 31 }, (_, i) => i + 2)
    const r = epsilonFromRdp(orders, new Array<number>(31).fill(1.1), 1e-5)
    expect(r.epsilon).toBeCloseTo(1.32783806176, 9)
    expect(r.order).toBe(32)
  })

  it("gives epsilon 1.0 for the plain Gaussian sigma=4.530877117 at delta 1e-6 on fine orders", () => {
    const orders = Array.from({ length: 99_000 }, (_, i) => (1000 + i) * 0.001)
    const r = epsilonFromRdp(orders, rdpPoissonSubsampledGaussian(1, 4.530877117, orders), 1e-6)
    expect(r.epsilon).toBeCloseTo(1.0, 7)
  })

  it("reproduces TF Privacy compute_dp_sgd_privacy: N=60000, B=150, sigma=1.3, 15 epochs -> 0.7242234026 (order 19)", () => {
    const steps = (15 * 60000) / 150
    const rdp = scaled(rdpPoissonSubsampledGaussian(150 / 60000, 1.3, OPACUS_ORDERS), steps)
    const r = epsilonFromRdp(OPACUS_ORDERS, rdp, 1e-5)
    expect(r.epsilon).toBeCloseTo(0.7242234026, 9)
    expect(r.order).toBe(19)
  })

  it("reproduces Opacus' RDPAccountant: sigma=1.5, q=0.04, T=2250 -> 7.32911117143 (signed series)", () => {
    const rdp = scaled(rdpPoissonSubsampledGaussian(0.04, 1.5, OPACUS_ORDERS, "signed"), 2250)
    expect(epsilonFromRdp(OPACUS_ORDERS, rdp, 1e-5).epsilon).toBeCloseTo(7.32911117143, 9)
    // the default (absolute-value) series is an upper bound within 1e-4 relative
    const abs = scaled(rdpPoissonSubsampledGaussian(0.04, 1.5, OPACUS_ORDERS), 2250)
    const eAbs = epsilonFromRdp(OPACUS_ORDERS, abs, 1e-5).epsilon
    expect(eAbs).toBeGreaterThanOrEqual(7.32911117143)
    expect(relErr(eAbs, 7.32911117143)).toBeLessThan(1e-4)
  })

  it("reproduces MNIST q=256/60000, sigma=1.1, T=14063: improved 2.597, classic 3.009", () => {
    const improved = epsilonFromRdp(
      DEFAULT_RDP_ORDERS,
      scaled(rdpPoissonSubsampledGaussian(256 / 60000, 1.1), 14063),
      1e-5
    )
    expect(Math.abs(improved.epsilon - 2.597)).toBeLessThan(1e-3)
    const classic = epsilonFromRdp(
      LEGACY_ORDERS,
      scaled(rdpPoissonSubsampledGaussian(256 / 60000, 1.1, LEGACY_ORDERS), 14063),
      1e-5,
      "classic"
    )
    expect(Math.abs(classic.epsilon - 3.009)).toBeLessThan(1e-3)
  })
})

/** log A_alpha by composite Simpson's rule on [-L, L] (independent of the series). */
const logAByQuadrature = (q: number, sigma: number, alpha: number): number => {
  const lo = -40 * sigma
  const hi = 40 * sigma + 1
  const n = 400_000
  const h = (hi - lo) / n
  let sum = 0
  for (let i = 0; i <= n; i++) {
    const z = lo + i * h
    const mu0 = Math.exp((-z * z) / (2 * sigma * sigma)) / (sigma * Math.sqrt(2 * Math.PI))
    const ratio = 1 - q + q * Math.exp((2 * z - 1) / (2 * sigma * sigma))
    const f = mu0 * Math.pow(ratio, alpha)
    sum += f * (i === 0 || i === n ? 1 : i % 2 === 1 ? 4 : 2)
  }
  return Math.log((sum * h) / 3)
}

describe("RDP: independent checks and properties", () => {
  it("agrees with numerical integration at fractional orders (signed series)", () => {
    for (const [q, sigma, alpha] of [
      [0.01, 1.0, 2.5],
      [0.05, 0.6, 3.7],
      [0.2, 2.0, 1.5],
      [0.001, 0.8, 7.3]
    ] as const) {
      const series = rdpPoissonSubsampledGaussian(q, sigma, [alpha], "signed")[0] ?? NaN
      const quad = logAByQuadrature(q, sigma, alpha) / (alpha - 1)
      expect(relErr(series, quad)).toBeLessThan(1e-7)
      const upper = rdpPoissonSubsampledGaussian(q, sigma, [alpha], "absolute")[0] ?? NaN
      expect(upper).toBeGreaterThanOrEqual(series * (1 - 1e-12))
    }
  })

  it("agrees with numerical integration at integer orders", () => {
    for (const [q, sigma, alpha] of [
      [0.01, 1.0, 2],
      [0.05, 0.6, 8],
      [0.3, 2.0, 20]
    ] as const) {
      const series = rdpPoissonSubsampledGaussian(q, sigma, [alpha])[0] ?? NaN
      expect(relErr(series, logAByQuadrature(q, sigma, alpha) / (alpha - 1))).toBeLessThan(1e-8)
    }
  })

  const eps = (q: number, sigma: number, t: number) =>
    epsilonFromRdp(DEFAULT_RDP_ORDERS, scaled(rdpPoissonSubsampledGaussian(q, sigma), t), 1e-5).epsilon

  it("epsilon grows with T and q, shrinks with sigma", () => {
    expect(eps(0.01, 1, 2000)).toBeGreaterThan(eps(0.01, 1, 1000))
    expect(eps(0.02, 1, 1000)).toBeGreaterThan(eps(0.01, 1, 1000))
    expect(eps(0.01, 1.2, 1000)).toBeLessThan(eps(0.01, 1, 1000))
  })

  it("composition adds RDP: T Poisson steps = T x the quadrature of one step; Gaussians of different sigma = alpha/2 sum 1/sigma_i^2", () => {
    // Each side computed independently of the event code: the one-step value by quadrature,
    // the Gaussian by its closed form alpha / (2 sigma^2) (Mironov 2017, Prop. 7 and 1).
    const [q, sigma, t, alpha] = [0.01, 1.1, 40, 6] as const
    const self = Result.getOrThrow(rdpOfEvent(selfComposed(poissonSampledGaussian(q, sigma), t), { orders: [alpha] }))[0] ?? NaN
    expect(relErr(self, (t * logAByQuadrature(q, sigma, alpha)) / (alpha - 1))).toBeLessThan(1e-7)
    const sigmas = [0.9, 1.7, 3.2]
    const mixed = Result.getOrThrow(rdpOfEvent(composed([...sigmas.map((s) => gaussian(s)), selfComposed(poissonSampledGaussian(q, sigma), 3)]), { orders: [alpha] }))[0] ?? NaN
    const expected = (alpha / 2) * sigmas.reduce((a, s) => a + 1 / (s * s), 0) + (3 * logAByQuadrature(q, sigma, alpha)) / (alpha - 1)
    expect(relErr(mixed, expected)).toBeLessThan(1e-7)
  })

  it("delta(epsilon(delta)) round-trips", () => {
    const rdp = scaled(rdpPoissonSubsampledGaussian(0.01, 1.0), 3000)
    for (const conversion of ["improved", "classic"] as const) {
      const { epsilon } = epsilonFromRdp(DEFAULT_RDP_ORDERS, rdp, 1e-6, conversion)
      const { delta } = deltaFromRdp(DEFAULT_RDP_ORDERS, rdp, epsilon, conversion)
      expect(relErr(delta, 1e-6)).toBeLessThan(1e-9)
    }
  })

  it("accounts replace-one Gaussian as sigma/2 and refuses unsupported events with a typed error", () => {
    const r1 = Result.getOrThrow(rdpOfEvent(gaussian(2, "replace_one"), { orders: [2] }))
    expect(r1[0]).toBeCloseTo((2 * 4) / (2 * 4), 12) // alpha * 2^2 / (2 sigma^2)
    const trunc = rdpOfEvent(
      truncatedPoissonSampledGaussian({ datasetSize: 1000, batchCap: 16, samplingRate: 0.01, noiseMultiplier: 1 })
    )
    expect(Result.isFailure(trunc) && trunc.failure._tag).toBe("UnsupportedEventError")
    const rep = rdpOfEvent(poissonSampledGaussian(0.01, 1, "replace_one"))
    expect(Result.isFailure(rep) && rep.failure.message).toMatch(/add_remove/)
  })
})
