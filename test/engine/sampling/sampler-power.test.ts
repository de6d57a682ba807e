/**
 * Statistical tests of the samplers with stated power against small biases that would
 * silently change the privacy guarantee (the accountant assumes inclusion with exactly
 * probability q, and a uniform subset when a Poisson batch is truncated: docs/privacy.md).
 *
 * The inputs are keyed, so each test is deterministic; the thresholds are set so that a
 * correct sampler passes with margin and the powers below hold for the stated biases.
 */
import { describe, expect, it } from "vitest"
import { poissonBatch } from "@dpipe/engine/sampling/poisson"
import { truncatedPoissonBatch } from "@dpipe/engine/sampling/truncated"

const key = new Uint8Array(32).map((_, i) => (i * 37 + 11) & 255)

/** Upper tail of the chi-square distribution with k degrees of freedom, by the Wilson-Hilferty normal approximation. */
const chiSquareZ = (x: number, k: number): number => {
  const c = 2 / (9 * k)
  return (Math.cbrt(x / k) - (1 - c)) / Math.sqrt(c)
}

describe("Poisson sampler: inclusion rate with power against a 0.5% bias", () => {
  // N T trials at rate q: the realised rate has SE sqrt(q (1-q) / (N T)). A relative bias b
  // moves it by b q. The test rejects at |z| > 4; its power against b = 0.5% is
  // P(Z > b q / SE - 4), stated per case below.
  for (const { n, q, steps, power } of [
    { n: 2_000_000, q: 0.01, steps: 100, power: "0.9995 (bias = 7.1 SE)" },
    { n: 200_000, q: 0.2, steps: 40, power: "> 0.9999 (bias = 28 SE)" },
    { n: 20_000_000, q: 0.001, steps: 100, power: "0.9995 (bias = 7.1 SE)" }
  ]) {
    it(`q=${q}: realised rate within 4 SE of q over ${n * steps} trials (power ${power})`, () => {
      let total = 0
      for (let t = 0; t < steps; t++) total += poissonBatch(key, t, n, q).length
      const trials = n * steps
      const se = Math.sqrt((q * (1 - q)) / trials)
      const z = (total / trials - q) / se
      expect(Math.abs(z)).toBeLessThan(4)
      // the test can fail: a 0.5% bias would sit this many SE away
      expect((0.005 * q) / se).toBeGreaterThan(7)
    })
  }

  it("gaps between included indices follow Geometric(q) (chi-square over gap values, 25 classes)", () => {
    // P(gap = k) = (1-q)^k q, for k = 0, 1, ...: the law the skipping sampler must realise.
    const n = 1_000_000, q = 0.05, steps = 20
    const classes = 25
    const observed = new Float64Array(classes)
    let count = 0
    for (let t = 0; t < steps; t++) {
      const b = poissonBatch(key, 1000 + t, n, q)
      let prev = -1
      for (const i of b) {
        const gap = i - prev - 1
        observed[Math.min(gap, classes - 1)]! += 1
        count++
        prev = i
      }
    }
    let chi = 0
    for (let k = 0; k < classes; k++) {
      const p = k < classes - 1 ? (1 - q) ** k * q : (1 - q) ** (classes - 1)
      const e = count * p
      chi += ((observed[k] as number) - e) ** 2 / e
    }
    // ~1e6 gaps; a rounding change of the skip (floor -> ceil) empties class 0 (chi ~ 5e4).
    expect(count).toBeGreaterThan(900_000)
    expect(chiSquareZ(chi, classes - 1)).toBeLessThan(4)
  })

  it("indices are uniform over [0, N) (chi-square over 50 position bins)", () => {
    const n = 1_000_000, q = 0.02, steps = 50, bins = 50
    const observed = new Float64Array(bins)
    let count = 0
    for (let t = 0; t < steps; t++) {
      for (const i of poissonBatch(key, 5000 + t, n, q)) {
        observed[Math.floor((i * bins) / n)]! += 1
        count++
      }
    }
    const e = count / bins
    let chi = 0
    for (const o of observed) chi += (o - e) ** 2 / e
    expect(chiSquareZ(chi, bins - 1)).toBeLessThan(4)
  })
})

describe("truncated Poisson sampler: the kept subset is uniform", () => {
  it("each member of a truncated batch is kept with probability B / |batch|, whatever its rank (chi-square over 10 rank bins, and the extreme ranks)", () => {
    // N = 5000, q = 0.03: Poisson batches of ~150, cap 100: almost every step truncates.
    const n = 5000, q = 0.03, cap = 100, steps = 3000, bins = 10
    const observed = new Float64Array(bins)
    const expected = new Float64Array(bins)
    const variance = new Float64Array(bins)
    let lastKept = 0, lastExpected = 0, firstKept = 0, truncatedSteps = 0
    for (let t = 0; t < steps; t++) {
      const b = truncatedPoissonBatch(key, t, n, q, cap)
      if (!b.truncated) continue
      truncatedSteps++
      const plain = poissonBatch(key, t, n, q)
      const kept = new Set(b.indices.subarray(0, b.realCount))
      const size = plain.length
      const p = cap / size
      for (let r = 0; r < size; r++) {
        const bin = Math.floor((r * bins) / size)
        expected[bin]! += p
        variance[bin]! += p * (1 - p)
        if (kept.has(plain[r] as number)) observed[bin]! += 1
      }
      lastExpected += p
      if (kept.has(plain[size - 1] as number)) lastKept++
      if (kept.has(plain[0] as number)) firstKept++
    }
    expect(truncatedSteps).toBeGreaterThan(2900)
    let chi = 0
    for (let k = 0; k < bins; k++) chi += ((observed[k] as number) - (expected[k] as number)) ** 2 / (variance[k] as number)
    // within-step counts are negatively correlated (exactly B kept), so this chi-square is conservative
    expect(chiSquareZ(chi, bins)).toBeLessThan(4)
    // the last and first ranks: kept ~ B/|batch| of the time (~2000 of 3000); an off-by-one
    // shuffle range never keeps the last (0) or keeps it always; SE here is ~ sqrt(3000 * 0.22) ~ 26
    const se = Math.sqrt(lastExpected * (1 - lastExpected / truncatedSteps))
    expect(Math.abs(lastKept - lastExpected)).toBeLessThan(5 * se)
    expect(Math.abs(firstKept - lastExpected)).toBeLessThan(5 * se)
  })
})
