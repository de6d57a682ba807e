import { describe, expect, it } from "vitest"
import { GemmaModel, disposeTape, disposeWeights, initParams, modelPresets, paramLayout, uploadWeights } from "@dpipe/engine/model/gemma"
import type { ModelConfig } from "@dpipe/engine/model/gemma"
import { clipFactors, microBatchGradient, perExampleSquaredNorms, weightedGradientSum } from "@dpipe/engine/dp/clip"
import type { NormStrategy } from "@dpipe/engine/dp/clip"
import { privatizeGradient, stepNoise } from "@dpipe/engine/dp/noise"
import { initBackend } from "@dpipe/engine/train/backend"

const setup = (cfg: ModelConfig) => {
  const flat = initParams(cfg, 2)
  for (const s of paramLayout(cfg)) {
    for (let j = 0; j < s.size; j++) {
      if (s.kind === "matrix") flat[s.offset + j] = (flat[s.offset + j] as number) * 8
      if (s.kind === "scale") flat[s.offset + j] = 0.2 * Math.cos(j + s.offset)
    }
  }
  const B = 5
  const S = 10
  const seqs = new Int32Array(B * S).map((_, i) => (i * 11 + (i % 3)) % cfg.vocabSize)
  seqs[3] = seqs[7] as number // repeated tokens exercise the embedding's equality mask
  seqs[S + 1] = seqs[S + 4] as number
  return { flat, B, S, seqs }
}

/** The naive reference: one backward pass per example, its full gradient materialised. */
const naivePerExample = (model: GemmaModel, flat: Float32Array, seqs: Int32Array, B: number, S: number): Array<Float64Array> => {
  const w = uploadWeights(model.config, flat)
  const out: Array<Float64Array> = []
  for (let i = 0; i < B; i++) out.push(microBatchGradient(model, w, seqs.subarray(i * S, (i + 1) * S), 1, S, null).sum)
  disposeWeights(w)
  return out
}

const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-12)

describe("per-example clipping", () => {
  for (const backend of ["native", "wasm", "cpu"] as const) {
    for (const tied of [true, false]) {
      const cfg: ModelConfig = { ...modelPresets.micro, tiedEmbeddings: tied }
      it(`fast per-example norms equal the naive loop for every parameter group (${backend}, ${tied ? "tied: exact" : "untied"})`, async () => {
        await initBackend(backend)
        const model = new GemmaModel(cfg)
        const { flat, B, S, seqs } = setup(cfg)
        const naive = naivePerExample(model, flat, seqs, B, S)
        const w = uploadWeights(cfg, flat)
        for (const strategy of ["auto", "ghost", "direct", "loop", "grouped", "blas"] satisfies Array<NormStrategy>) {
          const tape = model.forwardBackward(w, seqs, B, S)
          const nr = perExampleSquaredNorms(tape, { strategy, byParam: true })
          for (const t of nr.direct.values()) t.dispose()
          disposeTape(tape)
          for (const s of paramLayout(cfg)) {
            const fast = nr.byParam?.get(s.name)
            expect(fast, s.name).toBeDefined()
            for (let i = 0; i < B; i++) {
              let n2 = 0
              for (let j = 0; j < s.size; j++) n2 += (naive[i]?.[s.offset + j] as number) ** 2
              expect(rel(Math.sqrt(fast?.[i] as number), Math.sqrt(n2)), `${strategy} ${s.name} example ${i}`).toBeLessThan(1e-3)
            }
          }
          for (let i = 0; i < B; i++) {
            const n2 = (naive[i] as Float64Array).reduce((a, x) => a + x * x, 0)
            expect(rel(Math.sqrt(nr.sq[i] as number), Math.sqrt(n2))).toBeLessThan(1e-3)
          }
        }
        disposeWeights(w)
        model.dispose()
      })

      it(`clipped sum equals the naive sum_i min(1, C/||g_i||) g_i (${backend}, ${tied ? "tied" : "untied"})`, async () => {
        await initBackend(backend)
        const model = new GemmaModel(cfg)
        const { flat, B, S, seqs } = setup(cfg)
        const naive = naivePerExample(model, flat, seqs, B, S)
        const norms = naive.map((g) => Math.sqrt(g.reduce((a, x) => a + x * x, 0)))
        const sorted = [...norms].sort((a, b) => a - b)
        const C = ((sorted[2] as number) + (sorted[3] as number)) / 2 // two of five examples clipped
        const expected = new Float64Array(flat.length)
        naive.forEach((g, i) => {
          const c = Math.min(1, C / (norms[i] as number))
          for (let j = 0; j < g.length; j++) expected[j] = (expected[j] as number) + c * (g[j] as number)
        })
        const w = uploadWeights(cfg, flat)
        for (const strategy of ["auto", "ghost", "direct", "loop", "grouped", "blas"] satisfies Array<NormStrategy>) {
          const r = microBatchGradient(model, w, seqs, B, S, C, { strategy })
          expect(r.clipped).toBe(2)
          let num = 0
          let den = 0
          for (let j = 0; j < expected.length; j++) {
            num += ((r.sum[j] as number) - (expected[j] as number)) ** 2
            den += (expected[j] as number) ** 2
          }
          expect(Math.sqrt(num / den), strategy).toBeLessThan(1e-3)
          for (const s of paramLayout(cfg)) {
            let n = 0
            let d = 0
            for (let j = s.offset; j < s.offset + s.size; j++) {
              n += ((r.sum[j] as number) - (expected[j] as number)) ** 2
              d += (expected[j] as number) ** 2
            }
            expect(Math.sqrt(n / d), `${strategy} ${s.name}`).toBeLessThan(1e-3)
          }
        }
        disposeWeights(w)
        model.dispose()
      })
    }
  }

  for (const backend of ["native", "wasm"] as const) it(`a non-finite per-example gradient is zeroed and counted; the others are unaffected (${backend})`, async () => {
    await initBackend(backend)
    const cfg: ModelConfig = { ...modelPresets.micro, tiedEmbeddings: false } // tied, a NaN row would reach every example's logits
    const model = new GemmaModel(cfg)
    const { flat, B, S, seqs } = setup(cfg)
    // poison the embedding row of a token that only example 0 contains
    const bad = 31
    for (let i = 0; i < seqs.length; i++) if (seqs[i] === bad) seqs[i] = 30
    seqs[2] = bad
    const poisoned = flat.slice()
    poisoned[bad * cfg.dModel] = Number.NaN
    const C = 0.5
    for (const strategy of ["ghost", "direct", "loop", "grouped", "blas"] satisfies Array<NormStrategy>) {
      const w = uploadWeights(cfg, poisoned)
      const r = microBatchGradient(model, w, seqs, B, S, C, { strategy })
      disposeWeights(w)
      expect(r.nonFinite).toBe(1)
      expect(Number.isNaN(r.norms[0] as number)).toBe(true)
      expect(r.sum.every((x) => Number.isFinite(x)), strategy).toBe(true)
      // equals the clipped sum over examples 1..B-1 alone
      const w2 = uploadWeights(cfg, poisoned)
      const rest = microBatchGradient(model, w2, seqs.subarray(S), B - 1, S, C, { strategy })
      disposeWeights(w2)
      let num = 0
      let den = 0
      for (let j = 0; j < rest.sum.length; j++) {
        num += ((r.sum[j] as number) - (rest.sum[j] as number)) ** 2
        den += (rest.sum[j] as number) ** 2
      }
      expect(Math.sqrt(num / den), strategy).toBeLessThan(1e-5)
    }
    model.dispose()
  })

  it("clip factors: min(1, C/||g||), non-finite -> 0", () => {
    const f = clipFactors(new Float32Array([0, 4, 100, Number.NaN, Number.POSITIVE_INFINITY]), 5)
    expect(Array.from(f.c)).toEqual([1, 1, 0.5, 0, 0])
    expect(f.clipped).toBe(1)
    expect(f.nonFinite).toBe(2)
  })

  it("weightedGradientSum with w = null is the plain sum", async () => {
    await initBackend("wasm")
    const cfg = modelPresets.micro
    const model = new GemmaModel(cfg)
    const { flat, B, S, seqs } = setup(cfg)
    const naive = naivePerExample(model, flat, seqs, B, S)
    const w = uploadWeights(cfg, flat)
    const tape = model.forwardBackward(w, seqs, B, S)
    const sum = weightedGradientSum(cfg, tape, null, new Map())
    disposeTape(tape)
    disposeWeights(w)
    for (let j = 0; j < sum.length; j += 7) {
      const e = naive.reduce((a, g) => a + (g[j] as number), 0)
      expect(Math.abs((sum[j] as number) - e)).toBeLessThan(1e-4 * (1 + Math.abs(e)))
    }
    model.dispose()
  })
})

describe("noise", () => {
  it("N(0, sigma^2 C^2) over 1e6 coordinates: mean within 4 SE, sd within 1%", () => {
    const key = new Uint8Array(32).fill(3)
    const sigma = 0.9
    const C = 1.7
    const n = 1_000_000
    const x = stepNoise(key, 12, new Float64Array(n), sigma * C)
    let s = 0
    for (const v of x) s += v
    const mean = s / n
    let ss = 0
    for (const v of x) ss += (v - mean) ** 2
    const sd = Math.sqrt(ss / (n - 1))
    expect(Math.abs(mean)).toBeLessThan((4 * sigma * C) / Math.sqrt(n))
    expect(Math.abs(sd / (sigma * C) - 1)).toBeLessThan(0.01)
    // same key and step -> same noise (resumable); another step -> different
    expect(stepNoise(key, 12, new Float64Array(8), 1)).toEqual(stepNoise(key, 12, new Float64Array(8), 1))
    expect(stepNoise(key, 13, new Float64Array(8), 1)).not.toEqual(stepNoise(key, 12, new Float64Array(8), 1))
  })

  it("privatizeGradient adds the step's noise once and divides by the expected batch size", () => {
    const key = new Uint8Array(32).fill(5)
    const sum = Float64Array.from([1, 2, 3, 4])
    const g = privatizeGradient(sum, { key, step: 4, std: 0.5, expectedBatchSize: 8 })
    const noise = stepNoise(key, 4, new Float64Array(4), 0.5)
    for (let i = 0; i < 4; i++) expect(g[i]).toBe(Math.fround(((sum[i] as number) + (noise[i] as number)) / 8))
  })
})
