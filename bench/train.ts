/**
 * `pnpm bench train [--json] [--steps=N]`: training throughput on the PyTorch comparison shape
 * (vocab 2048, context 64, d_model 64, 2 layers, batch 64 = the `tiny` preset), side by side:
 * non-private, DP with fast clipping (per-example norms + book-keeping), DP with a naive
 * per-example loop (one backward pass per example), 1 vs 2 worker threads, peak RSS,
 * achieved GFLOP/s against the machine's 206 GFLOP/s two-core limit, and the PyTorch /
 * Opacus figures measured on this machine. Median step time over N steps after a warm-up.
 * Also profiles one DP step (tf kernel time by kernel vs wall time).
 */
import { availableParallelism, loadavg } from "node:os"
import { computeEstimate, initParams, modelPresets, paramCount } from "@dpipe/engine/model/gemma"
import { Trainer } from "@dpipe/engine/train/loop"
import type { TrainOptions } from "@dpipe/engine/train/loop"
import { LocalEngine } from "@dpipe/engine/train/engine"
import { profileKernels } from "@dpipe/engine/train/profile"
import { clipFactors } from "@dpipe/engine/dp/clip"
import { privatizeGradient } from "@dpipe/engine/dp/noise"
import { adamwUpdate, defaultOptimizer, learningRate } from "@dpipe/engine/train/optimizer"
import { keyedStream } from "@dpipe/random/keyed-random"

const PYTORCH = { nonPrivate: 15000, expandedWeights: 11500, hooks: 8000, ghost: 6700 }
const LIMIT_GFLOPS = 206

const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2
}

export const main = async (argv: ReadonlyArray<string>): Promise<void> => {
  const json = argv.includes("--json")
  const stepsArg = argv.find((a) => a.startsWith("--steps="))
  const steps = stepsArg !== undefined ? Math.max(1, Number(stepsArg.slice("--steps=".length))) : 5
  const log = (s: string) => {
    if (!json) console.log(s)
  }
  const cfg = modelPresets.tiny
  const B = 64
  const S = cfg.contextLength + 1
  const N = 4096
  const key = new Uint8Array(32).fill(1)
  const rng = keyedStream(key, "bench-corpus", 0)
  const tokens = new Int32Array(N * S)
  for (let i = 0; i < tokens.length; i++) tokens[i] = rng.uint32() % cfg.vocabSize
  const dataset = { tokens, seqLen: S, count: N }
  const batchAt = (step: number) => ({ indices: Int32Array.from({ length: B }, (_, i) => (step * B + i) % N) })
  const T = S - 1
  const tokensPerStep = B * T
  const est = computeEstimate(cfg, T)

  log(`load average at start: ${loadavg().map((x) => x.toFixed(2)).join(" ")} on ${availableParallelism()} cores (other processes skew 1-vs-2-worker figures)`)
  log(`shape: vocab ${cfg.vocabSize}, ctx ${T}, d_model ${cfg.dModel}, ${cfg.layers} layers, ${cfg.heads} heads x ${cfg.headDim} (kv ${cfg.kvHeads}), GeGLU ${cfg.ffnDim}, tied; batch ${B}; backend wasm`)
  const gpt2 = cfg.vocabSize * cfg.dModel + T * cfg.dModel + cfg.layers * (12 * cfg.dModel ** 2 + 13 * cfg.dModel) + 2 * cfg.dModel
  log(`params: ${paramCount(cfg)} (GPT-2-style model of this shape: ~${gpt2}; GeGLU has 3 d*f matrices, RoPE has no position table, no biases)`)
  log(`train FLOPs/token (6N + attention): ${(est.trainFlopsPerToken / 1e6).toFixed(2)} MFLOP`)

  // The four configurations run side by side: all trainers are created first, then their
  // steps are interleaved round-robin, so that load from other processes on this shared
  // machine hits every configuration alike; ratios are medians of per-round ratios.
  const dp = { clipNorm: 1, noiseMultiplier: 1, expectedBatchSize: B, noiseKey: key }
  const configs: ReadonlyArray<readonly [string, Pick<TrainOptions, "dp" | "workers">]> = [
    ["non-private, 1 worker", { dp: null, workers: 1 }],
    ["DP fast clipping, 1 worker", { dp, workers: 1 }],
    ["DP fast clipping, 2 workers", { dp, workers: 2 }],
    ["non-private, 2 workers", { dp: null, workers: 2 }]
  ]
  const trainers: Array<Trainer> = []
  for (const [, opts] of configs) {
    trainers.push(await Trainer.create({ model: cfg, optimizer: defaultOptimizer(1000), dataset, backend: "wasm", microBatchSize: B, selectBatch: batchAt, ...opts }))
  }
  const rounds: Array<Array<number>> = []
  for (let i = 0; i < steps + 2; i++) {
    const round: Array<number> = []
    for (const t of trainers) round.push((await t.trainStep()).stepMs)
    if (i >= 2) rounds.push(round) // two warm-up steps (wasm heaps grow during the first steps)
  }
  for (const t of trainers) await t.close()
  const col = (j: number) => rounds.map((r) => r[j] as number)
  const [npMs, dpMs, dp2Ms, np2Ms] = [0, 1, 2, 3].map((j) => median(col(j))) as [number, number, number, number]
  const pairedRatio = (num: number, den: number) => median(rounds.map((r) => (r[num] as number) / (r[den] as number)))
  configs.forEach(([name], j) => {
    const m = median(col(j))
    log(`${name.padEnd(34)} ${m.toFixed(0).padStart(6)} ms/step  ${((tokensPerStep / m) * 1000).toFixed(0).padStart(6)} tokens/s`)
  })

  // Naive DP: one backward pass per example, full per-example gradient, clip, sum, noise, AdamW.
  const engine = await LocalEngine.create({ model: cfg, dataset, backend: "wasm", microBatchSize: 1 })
  const opt = defaultOptimizer(1000)
  const params = initParams(cfg)
  const m = new Float32Array(params.length)
  const v = new Float32Array(params.length)
  const layout = engine.model.layout
  const naiveSteps = Math.max(1, Math.min(2, steps))
  const naiveMs: Array<number> = []
  for (let s = 0; s < naiveSteps; s++) {
    const t0 = performance.now()
    const sum = new Float64Array(params.length)
    for (const i of batchAt(s).indices) {
      const g = engine.computeSync(params, Int32Array.of(i), null).sum
      let n2 = 0
      for (const x of g) n2 += x * x
      const c = clipFactors(Float32Array.of(n2), dp.clipNorm).c[0] as number
      if (c > 0) for (let j = 0; j < g.length; j++) sum[j] = (sum[j] as number) + c * (g[j] as number)
    }
    const grad = privatizeGradient(sum, { key, step: s, std: dp.noiseMultiplier * dp.clipNorm, expectedBatchSize: B })
    adamwUpdate(opt, layout, params, m, v, grad, s + 1, learningRate(opt, s))
    naiveMs.push(performance.now() - t0)
  }
  await engine.close()
  const nvMs = median(naiveMs)
  log(`${"DP naive per-example loop, 1 worker".padEnd(34)} ${nvMs.toFixed(0).padStart(6)} ms/step  ${((tokensPerStep / nvMs) * 1000).toFixed(0).padStart(6)} tokens/s`)

  // Profile one DP step in this thread: kernel time by kernel vs wall time.
  const prof = await LocalEngine.create({ model: cfg, dataset, backend: "wasm", microBatchSize: B })
  const p0 = initParams(cfg)
  prof.computeSync(p0, batchAt(0).indices, 1)
  const pr = await profileKernels(() => {
    prof.computeSync(p0, batchAt(1).indices, 1)
  })
  await prof.close()
  // matmul work: BatchMatMul, plus DepthwiseConv2dNative (attention's grouped GEMMs)
  const matmulMs = pr.byKernel.filter(([k]) => k === "BatchMatMul" || k === "DepthwiseConv2dNative").reduce((a, [, ms]) => a + ms, 0)
  log(`profile of one DP batch (${pr.kernels} kernels, wall ${pr.wallMs.toFixed(0)} ms incl. profiler overhead):`)
  log(`  matmul kernels ${matmulMs.toFixed(0)} ms, other kernels ${(pr.kernelMs - matmulMs).toFixed(0)} ms, outside kernels (JS, uploads/downloads, JS-side sums) ${(pr.wallMs - pr.kernelMs).toFixed(0)} ms`)
  for (const [k, ms] of pr.byKernel.slice(0, 8)) log(`    ${k.padEnd(16)} ${ms.toFixed(1)} ms`)

  const rssMb = process.resourceUsage().maxRSS / 1024
  const dpTps = (tokensPerStep / dpMs) * 1000
  const dp2Tps = (tokensPerStep / dp2Ms) * 1000
  const npTps = (tokensPerStep / npMs) * 1000
  const gflops = (Math.max(dpTps, dp2Tps) * est.trainFlopsPerToken) / 1e9
  const result = {
    nonPrivateTokensPerSec: Math.round(npTps),
    dpTokensPerSec: Math.round(dpTps),
    naiveDpTokensPerSec: Math.round((tokensPerStep / nvMs) * 1000),
    dpOverNonPrivate: pairedRatio(1, 0),
    fastOverNaive: nvMs / dpMs,
    twoWorkerSpeedup: pairedRatio(1, 2),
    peakRssMb: Math.round(rssMb),
    gflops
  }
  if (json) {
    console.log(JSON.stringify(result))
    return
  }
  log(`DP / non-private step time: ${result.dpOverNonPrivate.toFixed(2)}x (goal <= 1.25; Opacus ExpandedWeights here 1.3x)`)
  log(`fast / naive DP speed-up: ${result.fastOverNaive.toFixed(1)}x`)
  log(`2 workers vs 1 (DP): ${result.twoWorkerSpeedup.toFixed(2)}x (goal >= 1.7); non-private: ${pairedRatio(0, 3).toFixed(2)}x (medians of per-round ratios)`)
  log(`peak RSS: ${result.peakRssMb} MB`)
  log(`achieved: ${gflops.toFixed(2)} GFLOP/s of model FLOPs (${((100 * gflops) / LIMIT_GFLOPS).toFixed(1)}% of the ${LIMIT_GFLOPS} GFLOP/s two-core limit)`)
  log(
    `vs PyTorch on both cores: non-private ${npTps.toFixed(0)} (2w ${((tokensPerStep / np2Ms) * 1000).toFixed(0)}) vs ${PYTORCH.nonPrivate}; DP ${Math.max(dpTps, dp2Tps).toFixed(0)} vs Opacus ExpandedWeights ${PYTORCH.expandedWeights}, hooks ${PYTORCH.hooks}, ghost ${PYTORCH.ghost}`
  )
}

if (import.meta.url === `file://${process.argv[1]}`) await main(process.argv.slice(2))
