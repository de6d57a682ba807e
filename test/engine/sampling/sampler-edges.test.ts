/**
 * The samplers at their edges, each against a value written out here: the stream they
 * read (domain "sampler", counter = step), index 0 included at rate q, growth past the
 * initial buffer, argument checks with messages that say how to fix them, exact
 * truncation counts and the padding index -1 (never a real example).
 */
import { describe, expect, it } from "vitest"
import { keyedStream, type KeyedStream } from "@dpipe/random/keyed-random"
import { drawPoisson, expectedBatchSize, poissonBatch } from "@dpipe/engine/sampling/poisson"
import { emptyTruncationStats, PAD_INDEX, recordTruncation, truncatedPoissonBatch } from "@dpipe/engine/sampling/truncated"

const key = new Uint8Array(32).map((_, i) => (i * 13 + 5) & 255)

const errorOf = (f: () => unknown): { _tag?: string; message?: string } => {
  try {
    f()
  } catch (e) {
    return e as { _tag?: string; message?: string }
  }
  throw new Error("expected an error")
}

describe("Poisson sampler edges", () => {
  it("reads the keyed stream of domain \"sampler\" at counter = step", () => {
    for (const t of [0, 7]) {
      expect(Array.from(poissonBatch(key, t, 50_000, 0.01))).toEqual(Array.from(drawPoisson(keyedStream(key, "sampler", t), 50_000, 0.01)))
    }
  })

  it("includes index 0 at rate q (the first gap starts before it)", () => {
    let hits = 0
    const steps = 4000
    for (let t = 0; t < steps; t++) if (poissonBatch(key, t, 100, 0.5)[0] === 0) hits++
    // Binomial(4000, 0.5): SE ~ 32
    expect(Math.abs(hits - steps / 2)).toBeLessThan(5 * Math.sqrt(steps / 4))
  })

  it("grows its buffer past the expected size when the stream includes everything", () => {
    // a stream whose uniforms are all 1 makes every gap 0: all N indices, ~22x the initial buffer
    const always = { uniformPositive: () => 1 } as unknown as KeyedStream
    expect(Array.from(drawPoisson(always, 1000, 0.01))).toEqual(Array.from({ length: 1000 }, (_, i) => i))
  })

  it("returns every index at q = 1 and none at q = 0", () => {
    expect(Array.from(poissonBatch(key, 3, 7, 1))).toEqual([0, 1, 2, 3, 4, 5, 6])
    expect(poissonBatch(key, 3, 1_000_000, 0).length).toBe(0)
  })

  it("refuses bad arguments with messages that name the argument and the fix", () => {
    expect(errorOf(() => poissonBatch(key, 0, -3, 0.1)).message).toMatch(/dataset size N .*-3.*number of packed sequences/)
    expect(errorOf(() => poissonBatch(key, 0, 10, -0.1)).message).toMatch(/sampling rate q .*-0\.1.*expected batch size \/ N/)
    expect(errorOf(() => poissonBatch(key, 0, 10, 1.5))._tag).toBe("SamplerConfigError")
    expect(errorOf(() => poissonBatch(key, -2, 10, 0.1)).message).toMatch(/step must be a non-negative integer, got -2/)
    expect(errorOf(() => expectedBatchSize(-1, 0.1))._tag).toBe("SamplerConfigError")
    expect(expectedBatchSize(2000, 0.01)).toBe(20)
  })
})

describe("truncated Poisson sampler edges", () => {
  it("pads with index -1 (never a real example) and counts dropped examples exactly", () => {
    expect(PAD_INDEX).toBe(-1)
    let stats = emptyTruncationStats
    let dropped = 0, truncated = 0
    for (let t = 0; t < 300; t++) {
      const b = truncatedPoissonBatch(key, t, 2000, 0.01, 22)
      for (let j = b.realCount; j < 22; j++) expect(b.indices[j]).toBe(-1)
      dropped += Math.max(0, b.poissonSize - 22)
      truncated += b.poissonSize > 22 ? 1 : 0
      stats = recordTruncation(stats, b)
    }
    expect(stats).toEqual({ steps: 300, truncatedSteps: truncated, droppedExamples: dropped })
    expect(dropped).toBeGreaterThan(0)
  })

  it("accepts a cap of 1 and refuses bad arguments", () => {
    const one = truncatedPoissonBatch(key, 1, 1000, 0.01, 1)
    expect(one.indices.length).toBe(1)
    expect(errorOf(() => truncatedPoissonBatch(key, 0, 10, 0.1, 0)).message).toMatch(/cap B must be a positive integer, got 0/)
    expect(errorOf(() => truncatedPoissonBatch(key, 0, -5, 0.1, 4))._tag).toBe("SamplerConfigError")
  })
})
