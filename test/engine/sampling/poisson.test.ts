import { describe, expect, it } from "vitest"
import { expectedBatchSize, poissonBatch } from "@dpipe/engine/sampling/poisson"
import { emptyTruncationStats, PAD_INDEX, recordTruncation, truncatedPoissonBatch } from "@dpipe/engine/sampling/truncated"

const key = new Uint8Array(32).map((_, i) => i)
const otherKey = new Uint8Array(32).map((_, i) => 255 - i)

const isStrictlyAscendingInRange = (a: Float64Array, n: number): boolean => {
  for (let i = 0; i < a.length; i++) {
    const v = a[i] as number
    if (!Number.isInteger(v) || v < 0 || v >= n) return false
    if (i > 0 && v <= (a[i - 1] as number)) return false
  }
  return true
}

describe("poissonBatch", () => {
  it("has an empirical inclusion rate within 4 binomial standard errors of q", () => {
    const n = 20_000, q = 0.01, steps = 300
    let total = 0
    const perIndex = new Uint32Array(n)
    for (let t = 0; t < steps; t++) {
      const b = poissonBatch(key, t, n, q)
      expect(isStrictlyAscendingInRange(b, n)).toBe(true)
      total += b.length
      for (const i of b) perIndex[i] = (perIndex[i] as number) + 1
    }
    const trials = n * steps
    const se = Math.sqrt(q * (1 - q) / trials)
    expect(Math.abs(total / trials - q)).toBeLessThan(4 * se)
    // the first and the last tenth of the indices are included at the same rate (no positional bias)
    const rate = (lo: number, hi: number) => {
      let s = 0
      for (let i = lo; i < hi; i++) s += perIndex[i] as number
      return s / ((hi - lo) * steps)
    }
    const seTenth = Math.sqrt(q * (1 - q) / (n / 10 * steps))
    expect(Math.abs(rate(0, n / 10) - q)).toBeLessThan(4 * seTenth)
    expect(Math.abs(rate(n - n / 10, n) - q)).toBeLessThan(4 * seTenth)
  })

  it("gives batch sizes that vary step to step with Poisson-like spread", () => {
    const n = 100_000, q = 1e-3
    const sizes = Array.from({ length: 200 }, (_, t) => poissonBatch(key, t, n, q).length)
    expect(new Set(sizes).size).toBeGreaterThan(10)
    const mean = sizes.reduce((a, b) => a + b, 0) / sizes.length
    const variance = sizes.reduce((a, b) => a + (b - mean) ** 2, 0) / (sizes.length - 1)
    expect(Math.abs(mean - 100)).toBeLessThan(4 * Math.sqrt(100 / 200))
    expect(variance).toBeGreaterThan(60)
    expect(variance).toBeLessThan(140)
  })

  it("is a pure function of (key, t): same batch whether computed first or after other steps", () => {
    const n = 1_000_000, q = 1e-3
    const first = poissonBatch(key, 17, n, q)
    for (let t = 0; t < 40; t++) poissonBatch(key, t, n, q)
    const later = poissonBatch(key, 17, n, q)
    expect(Array.from(later)).toEqual(Array.from(first))
    expect(Array.from(poissonBatch(key, 18, n, q))).not.toEqual(Array.from(first))
  })

  it("differs between keys", () => {
    const a = poissonBatch(key, 3, 1_000_000, 1e-3)
    const b = poissonBatch(otherKey, 3, 1_000_000, 1e-3)
    expect(Array.from(a)).not.toEqual(Array.from(b))
  })

  // The cost per step (proportional to q*N, not N) is a benchmark figure: `pnpm bench data`.
  it("handles N beyond 2^31 and 1e9", () => {
    const n = 5e9, q = 1e-7
    const b = poissonBatch(key, 0, n, q)
    expect(isStrictlyAscendingInRange(b, n)).toBe(true)
    expect(Math.abs(b.length - 500)).toBeLessThan(4 * Math.sqrt(500))
    expect(b.some((i) => i > 2 ** 32)).toBe(true)
  })

  it("covers the edge rates and rejects bad arguments with a typed error", () => {
    expect(poissonBatch(key, 0, 1000, 0).length).toBe(0)
    expect(Array.from(poissonBatch(key, 0, 5, 1))).toEqual([0, 1, 2, 3, 4])
    expect(poissonBatch(key, 0, 0, 0.5).length).toBe(0)
    expect(expectedBatchSize(1e9, 5e-4)).toBeCloseTo(5e5)
    for (const [n, q, t] of [[-1, 0.1, 0], [1.5, 0.1, 0], [10, 1.1, 0], [10, Number.NaN, 0], [10, 0.1, -1]] as const) {
      try {
        poissonBatch(key, t, n, q)
        expect.unreachable()
      } catch (e) {
        expect((e as { _tag?: string })._tag).toBe("SamplerConfigError")
      }
    }
  })
})

describe("truncatedPoissonBatch", () => {
  it("keeps exactly B slots, real first then zero-weight padding, and counts truncation", () => {
    const n = 10_000, q = 0.01, cap = 100 // q*N = 100: truncation about half the time
    let stats = emptyTruncationStats
    let padded = 0
    for (let t = 0; t < 200; t++) {
      const b = truncatedPoissonBatch(key, t, n, q, cap)
      const plain = poissonBatch(key, t, n, q)
      expect(b.indices.length).toBe(cap)
      expect(b.weights.length).toBe(cap)
      expect(b.poissonSize).toBe(plain.length)
      expect(b.realCount).toBe(Math.min(cap, plain.length))
      expect(b.truncated).toBe(plain.length > cap)
      const real = b.indices.subarray(0, b.realCount)
      expect(isStrictlyAscendingInRange(real, n)).toBe(true)
      const plainSet = new Set(plain)
      for (const i of real) expect(plainSet.has(i)).toBe(true) // a subset of the Poisson batch
      for (let j = 0; j < cap; j++) {
        expect(b.weights[j]).toBe(j < b.realCount ? 1 : 0)
        if (j >= b.realCount) expect(b.indices[j]).toBe(PAD_INDEX)
      }
      if (!b.truncated) expect(Array.from(real)).toEqual(Array.from(plain))
      if (b.realCount < cap) padded++
      stats = recordTruncation(stats, b)
    }
    expect(stats.steps).toBe(200)
    expect(stats.truncatedSteps).toBeGreaterThan(50)
    expect(stats.truncatedSteps).toBeLessThan(150)
    expect(padded).toBeGreaterThan(50)
    expect(stats.droppedExamples).toBeGreaterThan(0)
  })

  it("is reproducible and keeps a uniform random subset when truncating", () => {
    const a = truncatedPoissonBatch(key, 5, 10_000, 0.05, 100)
    const b = truncatedPoissonBatch(key, 5, 10_000, 0.05, 100)
    expect(a.truncated).toBe(true)
    expect(Array.from(a.indices)).toEqual(Array.from(b.indices))
    // the kept subset is spread over the whole Poisson batch, not its prefix
    const plain = poissonBatch(key, 5, 10_000, 0.05)
    expect(a.indices[99]).toBeGreaterThan(plain[150] as number)
  })

  it("rejects a bad cap", () => {
    expect(() => truncatedPoissonBatch(key, 0, 10, 0.1, 0)).toThrow(/cap B/)
  })
})
