import { describe, expect, it } from "vitest"
import { Trainer, evaluateLoss } from "@dpipe/engine/train/loop"
import type { BatchSelection, TrainOptions, TrainState } from "@dpipe/engine/train/loop"
import { LocalEngine } from "@dpipe/engine/train/engine"
import { modelPresets } from "@dpipe/engine/model/gemma"
import { defaultOptimizer, learningRate } from "@dpipe/engine/train/optimizer"
import { keyedStream } from "@dpipe/random/keyed-random"
import { BackendUnavailable, initBackend } from "@dpipe/engine/train/backend"
import type { BackendName } from "@dpipe/engine/train/backend"

const cfg = modelPresets.micro
const V = cfg.vocabSize
const S = 13
const key = new Uint8Array(32).fill(9)

/** Synthetic corpus with strong structure: next = 5 t + 3 mod V with prob 0.9, else uniform. */
const corpus = (N: number) => {
  const rng = keyedStream(key, "corpus", 0)
  const tokens = new Int32Array(N * S)
  for (let i = 0; i < N; i++) {
    let t = rng.uint32() % V
    for (let j = 0; j < S; j++) {
      tokens[i * S + j] = t
      t = rng.uniform() < 0.9 ? (t * 5 + 3) % V : rng.uint32() % V
    }
  }
  return { tokens, seqLen: S, count: N }
}

/** Poisson sampling for tests (the real sampler lives in sampling/). */
const poisson = (N: number, q: number) => (step: number): BatchSelection => {
  const r = keyedStream(key, "test-sampler", step)
  const idx: Array<number> = []
  for (let i = 0; i < N; i++) if (r.uniform() < q) idx.push(i)
  return { indices: Int32Array.from(idx) }
}

const baseOptions = (N: number, steps: number, workers: number, backend: BackendName = "native"): TrainOptions => ({
  model: cfg,
  optimizer: { ...defaultOptimizer(steps), peakLr: 1e-2 },
  dp: { clipNorm: 1, noiseMultiplier: 1, expectedBatchSize: 0.05 * N, noiseKey: key },
  dataset: corpus(N),
  backend,
  workers,
  microBatchSize: 16,
  selectBatch: poisson(N, 0.05)
})

const flatOf = (s: TrainState, which: "params" | "adamM" | "adamV") => Object.values(s[which]).flatMap((a) => Array.from(a))

describe("backends", () => {
  it("the optional tensorflow backend fails with a typed BackendUnavailable error when tfjs-node is absent", async () => {
    const err = await initBackend("tensorflow").then(
      () => undefined,
      (e: unknown) => e
    )
    // on a machine with @tensorflow/tfjs-node(-gpu) installed this resolves instead
    if (err !== undefined) {
      expect(err).toBeInstanceOf(BackendUnavailable)
      expect((err as BackendUnavailable)._tag).toBe("BackendUnavailable")
      expect((err as BackendUnavailable).reason).toMatch(/tfjs-node/)
    }
    expect(await initBackend("wasm")).toBe("wasm")
  })
})

describe("training loop", () => {
  it("learning rate: linear warmup then cosine to minLrRatio", () => {
    const o = { ...defaultOptimizer(100), warmupSteps: 10, peakLr: 1, minLrRatio: 0.1 }
    expect(learningRate(o, 0)).toBeCloseTo(0.1)
    expect(learningRate(o, 9)).toBeCloseTo(1)
    expect(learningRate(o, 55)).toBeCloseTo(0.55)
    expect(learningRate(o, 100)).toBeCloseTo(0.1)
  })

  for (const [backend, workers] of [["native", 1], ["native", 2], ["wasm", 1]] as const) {
    it(`stop + restore state + continue is bit-identical to an uninterrupted run (${backend}, ${workers} worker${workers > 1 ? "s" : ""})`, async () => {
      const N = 200
      const opts = baseOptions(N, 6, workers, backend)
      const a = await Trainer.create(opts)
      await a.run(6)
      const full = a.getState()
      await a.close()
      const b = await Trainer.create(opts)
      await b.run(3)
      const mid = structuredClone(b.getState())
      await b.close()
      const c = await Trainer.create(opts, mid)
      expect(c.step).toBe(3)
      await c.run(6)
      const resumed = c.getState()
      await c.close()
      expect(resumed.step).toBe(6)
      expect(resumed.counters).toEqual(full.counters)
      for (const k of ["params", "adamM", "adamV"] as const) expect(flatOf(resumed, k)).toEqual(flatOf(full, k))
    })
  }

  it("DP gradient is (clipped sum + noise) / EXPECTED batch size, not the realized one", async () => {
    const N = 100
    const indices = Int32Array.from([3, 17, 42]) // realized 3, expected 20
    const grads: Array<Float32Array> = []
    const opts: TrainOptions = {
      ...baseOptions(N, 1, 1),
      dp: { clipNorm: 0.5, noiseMultiplier: 1e-9, expectedBatchSize: 20, noiseKey: key },
      selectBatch: () => ({ indices }),
      inspectGradient: (_s, g) => grads.push(g)
    }
    const t = await Trainer.create(opts)
    const p0 = t.flatParams()
    await t.trainStep()
    await t.close()
    const eng = await LocalEngine.create({ model: cfg, dataset: opts.dataset, backend: "wasm", microBatchSize: 16 })
    const r = eng.computeSync(p0, indices, 0.5)
    await eng.close()
    const g = grads[0] as Float32Array
    for (let j = 0; j < g.length; j += 5) expect(g[j]).toBeCloseTo((r.sum[j] as number) / 20, 6)
  })

  it("an empty logical batch takes a noise-only step and is counted", async () => {
    const grads: Array<Float32Array> = []
    const opts: TrainOptions = { ...baseOptions(50, 1, 1), selectBatch: () => ({ indices: new Int32Array(0), padding: 4 }), inspectGradient: (_s, g) => grads.push(g) }
    const t = await Trainer.create(opts)
    const p0 = t.flatParams()
    const m = await t.trainStep()
    const p1 = t.flatParams()
    const st = t.getState()
    await t.close()
    expect(m.realizedBatchSize).toBe(0)
    expect(st.step).toBe(1)
    expect(st.counters.emptySteps).toBe(1)
    expect(st.counters.padding).toBe(4)
    const g = grads[0] as Float32Array
    // pure noise: sd ~ sigma C / (q N) = 1 / 2.5
    const sd = Math.sqrt(g.reduce((a, x) => a + x * x, 0) / g.length)
    expect(sd).toBeGreaterThan(0.3)
    expect(sd).toBeLessThan(0.5)
    expect(p1).not.toEqual(p0)
  })

  it("DP training (sigma 1, q 0.05) of a micro model gets below the unigram entropy", async () => {
    const N = 2000
    const steps = 80
    const opts = baseOptions(N, steps, 1)
    const t = await Trainer.create(opts)
    await t.run(steps)
    const params = t.flatParams()
    await t.close()
    // unigram entropy of the corpus (nats)
    const counts = new Float64Array(V)
    for (const x of opts.dataset.tokens) counts[x] = (counts[x] as number) + 1
    let H = 0
    for (const c of counts) if (c > 0) H -= (c / opts.dataset.tokens.length) * Math.log(c / opts.dataset.tokens.length)
    const evalIdx = Int32Array.from({ length: 200 }, (_, i) => i * 10)
    const loss = await evaluateLoss(cfg, params, opts.dataset, evalIdx, "wasm")
    expect(H).toBeGreaterThan(3.3)
    expect(loss).toBeLessThan(H - 1)
  })

  it("non-private mode shares the loop: mean over the realized batch, no noise, deterministic", async () => {
    const N = 100
    const run = async () => {
      const grads: Array<Float32Array> = []
      const t = await Trainer.create({ ...baseOptions(N, 2, 1), dp: null, selectBatch: () => ({ indices: Int32Array.from([1, 2, 3, 4]) }), inspectGradient: (_s, g) => grads.push(g) })
      await t.run(2)
      const p = t.flatParams()
      await t.close()
      return { p, g: grads[0] as Float32Array }
    }
    const a = await run()
    const b = await run()
    expect(a.p).toEqual(b.p)
    const eng = await LocalEngine.create({ model: cfg, dataset: corpus(N), backend: "wasm", microBatchSize: 16 })
    const t0 = await Trainer.create({ ...baseOptions(N, 2, 1), dp: null })
    const p0 = t0.flatParams()
    await t0.close()
    const r = eng.computeSync(p0, Int32Array.from([1, 2, 3, 4]), null)
    await eng.close()
    for (let j = 0; j < a.g.length; j += 5) expect(a.g[j]).toBeCloseTo((r.sum[j] as number) / 4, 6)
  })
})
