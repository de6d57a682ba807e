/**
 * The sweep's noise mode: the gradient handed to Adam is the mean of per-example
 * gradients clipped to c and divided by c, plus N(0, sigma-bar^2 I). Checked against an
 * independent computation: per-example gradients from the non-private trainer one example
 * at a time, clipped and averaged by a naive loop; and the injected noise's empirical std
 * against sigma-bar.
 */
import { describe, expect, it } from "vitest"
import { Trainer, type TrainOptions } from "@dpipe/engine/train/loop"
import { modelPresets } from "@dpipe/engine/model/gemma"
import { defaultOptimizer } from "@dpipe/engine/train/optimizer"
import { keyedStream } from "@dpipe/random/keyed-random"
import { noiseBatchRatioMechanism, noiseBatchRatioOf, noiseMultiplierOf } from "@dpipe/engine/dp/noise-batch-ratio"
import { fixedBatchSampler } from "@dpipe/engine/sampling/fixed-batch"

const cfg = modelPresets.micro
const S = 13
const key = new Uint8Array(32).fill(7)
const noiseKey = new Uint8Array(32).fill(11)

const corpus = (N: number) => {
  const rng = keyedStream(key, "corpus", 0)
  const tokens = new Int32Array(N * S)
  for (let i = 0; i < N * S; i++) tokens[i] = rng.uint32() % cfg.vocabSize
  return { tokens, seqLen: S, count: N }
}

/** The gradient handed to the optimizer at step 0. */
const firstGradient = async (opts: Omit<TrainOptions, "inspectGradient">): Promise<Float32Array> => {
  let grad: Float32Array | undefined
  const t = await Trainer.create({ ...opts, inspectGradient: (step, g) => {
    if (step === 0) grad = g.slice()
  } })
  try {
    await t.trainStep()
  } finally {
    await t.close()
  }
  if (grad === undefined) throw new Error("no gradient inspected")
  return grad
}

describe("noise-batch ratio mechanism", () => {
  const N = 64
  const b = 8
  const data = corpus(N)
  const select = fixedBatchSampler(key, N, b)
  const base = { model: cfg, optimizer: { ...defaultOptimizer(4), peakLr: 1e-3 }, dataset: data, backend: "native" as const, workers: 1, microBatchSize: 8 }

  it("maps sigma-bar onto the loop: noise multiplier b * sigma-bar on the sum, normaliser b * c", () => {
    const m = noiseBatchRatioMechanism({ noiseBatchRatio: 2 ** -8, batchSize: 32, clipNorm: 0.5, noiseKey })
    expect(m.noiseMultiplier).toBe(32 * 2 ** -8)
    expect(m.expectedBatchSize).toBe(16)
    expect(m.clipNorm).toBe(0.5)
    expect(noiseBatchRatioOf(noiseMultiplierOf(1e-3, 500), 500)).toBeCloseTo(1e-3, 15)
    expect(() => noiseBatchRatioMechanism({ noiseBatchRatio: -1, batchSize: 8, clipNorm: 1, noiseKey })).toThrow(/noise-batch ratio/)
    expect(() => noiseBatchRatioMechanism({ noiseBatchRatio: 0.1, batchSize: 0, clipNorm: 1, noiseKey })).toThrow(/batch size/)
  })

  for (const c of [1, 0.05]) {
    it(`sigma-bar = 0 gives the mean of normalised clipped per-example gradients (naive loop, c = ${c})`, async () => {
      const batch = select(0)
      const dp = noiseBatchRatioMechanism({ noiseBatchRatio: 0, batchSize: b, clipNorm: c, noiseKey })
      const got = await firstGradient({ ...base, dp, selectBatch: () => ({ indices: batch }) })
      // Naive: each example's plain gradient from the non-private trainer (batch of one).
      const naive = new Float64Array(got.length)
      let clipped = 0
      for (const i of batch) {
        const g = await firstGradient({ ...base, dp: null, selectBatch: () => ({ indices: Int32Array.of(i) }) })
        let norm = 0
        for (const v of g) norm += v * v
        norm = Math.sqrt(norm)
        if (norm > c) clipped++
        const factor = Math.min(1, c / norm) / c
        for (let k = 0; k < g.length; k++) naive[k]! += ((g[k] as number) * factor) / b
      }
      let diff = 0
      let ref = 0
      for (let k = 0; k < got.length; k++) {
        diff += ((got[k] as number) - (naive[k] as number)) ** 2
        ref += (naive[k] as number) ** 2
      }
      // c = 0.05 clips every example, so the clipping and the division by c are both exercised.
      if (c < 1) expect(clipped).toBe(b)
      // float32 per-example gradients through two code paths: relative L2 error ~1e-6.
      expect(Math.sqrt(diff / ref)).toBeLessThan(1e-4)
    }, 120_000)
  }

  it("the injected noise on the mean gradient has std sigma-bar (empirical std within 3%)", async () => {
    const sigmaBar = 2 ** -7
    const batch = select(0)
    const run = (s: number, k: Uint8Array) => firstGradient({ ...base, dp: noiseBatchRatioMechanism({ noiseBatchRatio: s, batchSize: b, clipNorm: 1, noiseKey: k }), selectBatch: () => ({ indices: batch }) })
    const clean = await run(0, noiseKey)
    let sum = 0
    let sq = 0
    let d = 0
    // Six independent noise keys: about 31,000 draws in all.
    for (let r = 0; r < 6; r++) {
      const noisy = await run(sigmaBar, new Uint8Array(32).fill(100 + r))
      for (let k = 0; k < noisy.length; k++) {
        const z = (noisy[k] as number) - (clean[k] as number)
        sum += z
        sq += z * z
        d++
      }
    }
    const mean = sum / d
    const std = Math.sqrt(sq / d - mean * mean)
    // The sample std of d Gaussians has relative sd 1/sqrt(2d) (0.4% here), so the 3% band
    // is > 7 sd wide (a wrong scale such as b * sigma-bar or sigma-bar / b fails by far);
    // the mean is within 6 sd of 0.
    expect(d).toBeGreaterThan(30_000)
    expect(Math.abs(std / sigmaBar - 1)).toBeLessThan(0.03)
    expect(Math.abs(mean)).toBeLessThan((6 * sigmaBar) / Math.sqrt(d))
  }, 120_000)
})
