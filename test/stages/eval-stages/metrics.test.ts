/** The evaluation arithmetic against hand-made examples and naive implementations. */
import { describe, expect, it } from "vitest"
import { Schema } from "effect"
import { EvalPerf, EvaluateConfig, MemorizationConfig } from "@dpipe/stages/eval-stages/index"
import { indexOfTokens, levenshtein, log2NormalCdf, logErfc, lossMetrics, normalFitExposure, normalizedEditDistance, rankAmong, sampledExposure, unigramNegLogProbs } from "@dpipe/stages/eval-stages/metrics"
import { sampleIndices } from "@dpipe/stages/eval-stages/memorization"
import { keyedStream } from "@dpipe/random/keyed-random"

/** Levenshtein by its recursive definition (memoized). */
const naiveLevenshtein = (a: ReadonlyArray<number>, b: ReadonlyArray<number>): number => {
  const memo = new Map<string, number>()
  const d = (i: number, j: number): number => {
    if (i === 0) return j
    if (j === 0) return i
    const k = `${i},${j}`
    const hit = memo.get(k)
    if (hit !== undefined) return hit
    const v = Math.min(d(i - 1, j) + 1, d(i, j - 1) + 1, d(i - 1, j - 1) + (a[i - 1] === b[j - 1] ? 0 : 1))
    memo.set(k, v)
    return v
  }
  return d(a.length, b.length)
}

describe("exposure", () => {
  it("rank and the sampled exposure on a hand-made example", () => {
    const cands = [1, 2, 3, 4, 5]
    expect(rankAmong(2.5, cands)).toBe(3)
    expect(sampledExposure(3, 5)).toBeCloseTo(1, 12) // log2(6) - log2(3)
    expect(rankAmong(0.5, cands)).toBe(1)
    expect(sampledExposure(1, 5)).toBeCloseTo(Math.log2(6), 12) // the most the sample can show
    expect(rankAmong(10, cands)).toBe(6)
    expect(sampledExposure(6, 5)).toBe(0)
    expect(rankAmong(3, cands)).toBe(3) // ties are not counted as lower
  })

  it("ln erfc and log2 Phi match reference values, including the far tail", () => {
    const ref: Array<[number, number]> = [[0, 1], [0.5, 0.4795001221869535], [2, 0.004677734981047266], [-1, 1.8427007929497148], [10, 2.088487583762545e-45]]
    for (const [x, v] of ref) expect(Math.abs(logErfc(x) - Math.log(v)) / Math.max(1, Math.abs(Math.log(v)))).toBeLessThan(2e-7)
    expect(log2NormalCdf(0)).toBeCloseTo(-1, 6)
    expect(log2NormalCdf(-1.6448536269514722)).toBeCloseTo(Math.log2(0.05), 5)
  })

  it("normal-fit exposure: 1 bit at the candidates' mean, capped at log2 |R|, 0 far above", () => {
    const cands = [1, 2, 3, 4, 5, 6, 7, 8, 9]
    expect(normalFitExposure(5, cands, 1e12)).toBeCloseTo(1, 6)
    expect(normalFitExposure(-1000, cands, 1e12)).toBeCloseTo(Math.log2(1e12), 9)
    expect(normalFitExposure(1000, cands, 1e12)).toBeCloseTo(0, 9)
  })
})

describe("edit distance", () => {
  it("Levenshtein equals the recursive definition on random token strings", () => {
    const rng = keyedStream(new Uint8Array(32).fill(7), "levenshtein-test", 0)
    for (let trial = 0; trial < 300; trial++) {
      const gen = () => Array.from({ length: Math.floor(rng.uniform() * 12) }, () => Math.floor(rng.uniform() * 4))
      const a = gen()
      const b = gen()
      expect(levenshtein(Int32Array.from(a), Int32Array.from(b))).toBe(naiveLevenshtein(a, b))
      expect(levenshtein(a, b)).toBe(levenshtein(b, a))
    }
    expect(levenshtein([1, 2, 3], [1, 2, 3])).toBe(0)
    expect(normalizedEditDistance([1, 2, 3, 4, 5, 6, 7, 8, 9, 0], [1, 2, 3, 4, 5, 6, 7, 8, 9, 1])).toBeCloseTo(0.1, 12)
  })

  it("finds token subsequences", () => {
    const hay = Int32Array.of(5, 1, 2, 3, 1, 2, 3)
    expect(indexOfTokens(hay, [1, 2, 3])).toBe(1)
    expect(indexOfTokens(hay, [1, 2, 3], 2)).toBe(4)
    expect(indexOfTokens(hay, [3, 5])).toBe(-1)
  })
})

describe("losses and the unigram baseline", () => {
  it("perplexity, bits per token and bits per byte from totals", () => {
    const m = lossMetrics({ tokens: 4, bytes: 10, totalNats: 8 })
    expect(m.meanLoss).toBe(2)
    expect(m.perplexity).toBeCloseTo(Math.exp(2), 12)
    expect(m.bitsPerToken).toBeCloseTo(2 / Math.LN2, 12)
    expect(m.bitsPerByte).toBeCloseTo(8 / Math.LN2 / 10, 12)
  })

  it("add-one smoothing: -log((c + 1) / (N + V)), padding excluded from N", () => {
    const counts = Float64Array.of(99, 3, 0, 7) // id 0 is padding
    const nll = unigramNegLogProbs(counts, [0])
    const N = 10
    const V = 4
    expect(nll[1]).toBeCloseTo(-Math.log(4 / (N + V)), 12)
    expect(nll[2]).toBeCloseTo(-Math.log(1 / (N + V)), 12)
    expect(nll[0]).toBeCloseTo(-Math.log(1 / (N + V)), 12)
    let total = 0
    for (const v of nll) total += Math.exp(-v)
    expect(total).toBeCloseTo(1, 12)
  })
})

describe("keyed sampling", () => {
  it("draws distinct indices from the pool, reproducibly from the key", () => {
    const key = new Uint8Array(32).fill(3)
    const pool = Array.from({ length: 50 }, (_, i) => i * 2)
    const a = sampleIndices(pool, 10, keyedStream(key, "s", 0))
    expect(sampleIndices(pool, 10, keyedStream(key, "s", 0))).toEqual(a)
    expect(new Set(a).size).toBe(10)
    for (const x of a) expect(pool).toContain(x)
    expect(sampleIndices(pool, 80, keyedStream(key, "s", 0)).length).toBe(50)
  })
})

describe("configs", () => {
  it("decode with defaults and reject unusable values with a message", () => {
    expect(Schema.decodeUnknownSync(MemorizationConfig)({})).toEqual({ candidates: 100, extraction: { sampleSize: 64, editThreshold: 0.1, maxDuplicated: 64 } })
    expect(() => Schema.decodeUnknownSync(MemorizationConfig)({ candidates: 1 })).toThrow(/must be an integer >= 2/)
    expect(() => Schema.decodeUnknownSync(MemorizationConfig)({ extraction: { editThreshold: 1.5 } })).toThrow()
    expect(Schema.decodeUnknownSync(EvaluateConfig)({})).toEqual({})
    expect(Schema.decodeUnknownSync(EvalPerf)({})).toEqual({ backend: "native", microBatchSize: 32 })
  })
})
