/** The sweep's fixed-batch sampler: exactly b examples per step, each epoch a permutation, a pure function of (key, step). */
import { describe, expect, it } from "vitest"
import { epochPermutation, epochsOf, fixedBatchSampler } from "@dpipe/engine/sampling/fixed-batch"
import { SamplerConfigError } from "@dpipe/engine/sampling/errors"

const key = new Uint8Array(32).fill(3)
const other = new Uint8Array(32).fill(4)

describe("fixed-batch sampler", () => {
  it("every step has exactly b distinct indices, and one epoch (N a multiple of b) covers every example once", () => {
    const n = 120
    const b = 8
    const select = fixedBatchSampler(key, n, b)
    const seen = new Array<number>(n).fill(0)
    for (let t = 0; t < n / b; t++) {
      const batch = select(t)
      expect(batch.length).toBe(b)
      expect(new Set(batch).size).toBe(b)
      for (const i of batch) seen[i] = (seen[i] ?? 0) + 1
    }
    expect(seen.every((c) => c === 1)).toBe(true)
  })

  it("a step that straddles two epochs takes the end of one permutation and the start of the next", () => {
    const n = 10
    const b = 4
    const select = fixedBatchSampler(key, n, b)
    const e0 = epochPermutation(key, 0, n)
    const e1 = epochPermutation(key, 1, n)
    // positions 8..11: e0[8], e0[9], e1[0], e1[1]
    expect(Array.from(select(2))).toEqual([e0[8], e0[9], e1[0], e1[1]])
    expect(Array.from(e0).sort((x, y) => x - y)).toEqual(Array.from({ length: n }, (_, i) => i))
    expect(Array.from(e0)).not.toEqual(Array.from(e1))
    expect(epochsOf(5, 4, 10)).toBe(2)
  })

  it("is a pure function of (key, step): any order, a fresh sampler, the same batch; another key another batch", () => {
    const a = fixedBatchSampler(key, 1000, 16)
    const b = fixedBatchSampler(key, 1000, 16)
    const forward = [0, 1, 2, 63, 64, 200].map((t) => Array.from(a(t)))
    const backward = [200, 64, 63, 2, 1, 0].map((t) => Array.from(b(t))).reverse()
    expect(backward).toEqual(forward)
    expect(Array.from(fixedBatchSampler(other, 1000, 16)(0))).not.toEqual(forward[0])
  })

  it("each example's inclusion frequency is uniform over many epochs (chi-square, 5 sigma)", () => {
    // Position 0 of each epoch's permutation is uniform over [0, n): over E epochs the
    // counts are multinomial(E, 1/n); chi-square with n-1 = 19 dof has mean 19, sd ~6.2.
    const n = 20
    const E = 4000
    const counts = new Array<number>(n).fill(0)
    for (let e = 0; e < E; e++) counts[epochPermutation(key, e, n)[0] as number]! += 1
    const expected = E / n
    const chi2 = counts.reduce((a, c) => a + ((c - expected) * (c - expected)) / expected, 0)
    expect(chi2).toBeLessThan(19 + 5 * Math.sqrt(2 * 19))
  })

  it("refuses bad arguments with a typed error naming the fix", () => {
    expect(() => fixedBatchSampler(key, 0, 4)).toThrow(SamplerConfigError)
    expect(() => fixedBatchSampler(key, 10, 0)).toThrow(/batch size b must be a positive integer/)
    expect(() => fixedBatchSampler(key, 10, 2)(-1)).toThrow(/step must be a non-negative integer/)
  })
})
