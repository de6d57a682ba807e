/**
 * The noise the training loop adds has standard deviation sigma * C on the clipped sum
 * (Abadi et al. 2016; docs/privacy.md), measured through the loop with C != 1 so that a
 * loop which passes sigma alone (or C alone) as the std is caught. The expectation is
 * computed here from the definition, independently of the loop: the noise is isolated as
 * E * g~ - (clipped sum from a separate engine), whose coordinates must be N(0, (sigma C)^2).
 *
 * Power: with n = 5,200 coordinates (the micro model) the sample sd has relative standard
 * error 1 / sqrt(2 n) < 1%, so the 5% tolerance is 5 SE from the true value while a
 * wrong std (sigma instead of sigma C: a factor 2 here; C instead: a factor 4) is far off.
 */
import { describe, expect, it } from "vitest"
import { Trainer } from "@dpipe/engine/train/loop"
import { LocalEngine } from "@dpipe/engine/train/engine"
import { modelPresets } from "@dpipe/engine/model/gemma"
import { defaultOptimizer } from "@dpipe/engine/train/optimizer"
import { keyedStream } from "@dpipe/random/keyed-random"

const cfg = modelPresets.micro
const S = 13
const key = new Uint8Array(32).fill(21)

const corpus = (N: number) => {
  const rng = keyedStream(key, "corpus", 0)
  const tokens = new Int32Array(N * S)
  for (let i = 0; i < tokens.length; i++) tokens[i] = rng.uint32() % cfg.vocabSize
  return { tokens, seqLen: S, count: N }
}

const sampleSd = (xs: ArrayLike<number>): { mean: number; sd: number } => {
  let s = 0
  for (let i = 0; i < xs.length; i++) s += xs[i] as number
  const mean = s / xs.length
  let v = 0
  for (let i = 0; i < xs.length; i++) v += ((xs[i] as number) - mean) ** 2
  return { mean, sd: Math.sqrt(v / (xs.length - 1)) }
}

/**
 * One DP step of the loop on `indices`, and the noise it added to the clipped sum:
 * E * g~ - (clipped sum from a separate engine on the same parameters).
 */
const isolatedNoise = async (o: { clipNorm: number; noiseMultiplier: number; expected: number; indices: Int32Array; workers: number; microBatchSize: number }): Promise<Float64Array> => {
  const dataset = corpus(64)
  const grads: Array<Float32Array> = []
  const t = await Trainer.create({
    model: cfg,
    optimizer: { ...defaultOptimizer(1), peakLr: 1e-3 },
    dp: { clipNorm: o.clipNorm, noiseMultiplier: o.noiseMultiplier, expectedBatchSize: o.expected, noiseKey: key },
    dataset,
    backend: "wasm",
    workers: o.workers,
    microBatchSize: o.microBatchSize,
    selectBatch: () => ({ indices: o.indices }),
    inspectGradient: (_s, g) => grads.push(g)
  })
  const p0 = t.flatParams()
  await t.trainStep()
  await t.close()
  const eng = await LocalEngine.create({ model: cfg, dataset, backend: "wasm", microBatchSize: 16 })
  const r = eng.computeSync(p0, o.indices, o.clipNorm)
  await eng.close()
  const g = grads[0] as Float32Array
  const noise = new Float64Array(g.length)
  for (let j = 0; j < g.length; j++) noise[j] = (g[j] as number) * o.expected - (r.sum[j] as number)
  return noise
}

describe("DP noise scale through the training loop", () => {
  for (const { clipNorm, noiseMultiplier } of [
    { clipNorm: 0.5, noiseMultiplier: 2 },
    { clipNorm: 3, noiseMultiplier: 0.7 }
  ]) {
    it(`adds N(0, (sigma C)^2) to the clipped sum, then divides by q*N (C=${clipNorm}, sigma=${noiseMultiplier})`, async () => {
      const noise = await isolatedNoise({ clipNorm, noiseMultiplier, expected: 8, indices: Int32Array.from([1, 5, 9, 30, 41]), workers: 1, microBatchSize: 16 })
      expect(noise.length).toBeGreaterThan(5_000)
      const { mean, sd } = sampleSd(noise)
      const target = noiseMultiplier * clipNorm
      expect(Math.abs(sd / target - 1)).toBeLessThan(0.05)
      expect(Math.abs(mean)).toBeLessThan((5 * target) / Math.sqrt(noise.length))
    })
  }

  it("noise is added once per logical batch, not per micro-batch or worker (8 examples in micro-batches of 2 on 2 workers)", async () => {
    // Four micro-batches on two workers: noise per micro-batch would give sd 2 sigma C,
    // per worker sqrt(2) sigma C; once per logical batch gives sigma C (docs/privacy.md, P2).
    const noise = await isolatedNoise({ clipNorm: 0.5, noiseMultiplier: 2, expected: 8, indices: Int32Array.from([0, 3, 7, 12, 20, 33, 47, 60]), workers: 2, microBatchSize: 2 })
    expect(Math.abs(sampleSd(noise).sd / (2 * 0.5) - 1)).toBeLessThan(0.05)
  })

  it("a noise-only step (empty batch) has sd sigma C / (q N)", async () => {
    const clipNorm = 0.25, noiseMultiplier = 4, expected = 10
    const grads: Array<Float32Array> = []
    const t = await Trainer.create({
      model: cfg,
      optimizer: { ...defaultOptimizer(1), peakLr: 1e-3 },
      dp: { clipNorm, noiseMultiplier, expectedBatchSize: expected, noiseKey: key },
      dataset: corpus(20),
      backend: "wasm",
      workers: 1,
      microBatchSize: 16,
      selectBatch: () => ({ indices: new Int32Array(0) }),
      inspectGradient: (_s, g) => grads.push(g)
    })
    await t.trainStep()
    await t.close()
    const { sd } = sampleSd(grads[0] as Float32Array)
    expect(Math.abs(sd / ((noiseMultiplier * clipNorm) / expected) - 1)).toBeLessThan(0.05)
  })
})
