/**
 * `pnpm bench train [--json] [--steps=N] [--no-small] [--no-pytorch]`: training throughput of
 * the default configuration (backend `native` unless OpenBLAS is missing, one OpenBLAS
 * thread per engine thread) on two shapes: the PyTorch comparison shape (the `tiny` preset:
 * vocab 2048, context 64, d_model 64, 2 layers, batch 64) and the `small` preset (vocab
 * 4096, context 128, d_model 128, 4 layers, batch 64). Per shape, side by side (steps of all
 * configurations interleaved round-robin, ratios as medians of per-round ratios):
 * non-private and DP (fast clipping: per-example norms + book-keeping) on one worker, DP
 * and non-private on two workers sharing the parameters, DP on one worker with two
 * OpenBLAS threads, non-private on the old wasm path; then DP with a naive per-example
 * loop, achieved GFLOP/s against the machine's 206 GFLOP/s two-core sgemm limit, and a
 * profile of one DP step (phases by wall time; tfjs kernels by kernel). Finally the PyTorch
 * reference (bench/pytorch_train.py, same model and shape, AdamW) when python3 with torch
 * is installed, at 1 and 2 threads with OMP_WAIT_POLICY=PASSIVE. Median step time over N
 * steps after two warm-up steps. `--json` prints one line: the tiny figures at the top
 * level and the same figures for `small` under a `small` key.
 */
import { spawnSync } from "node:child_process"
import { availableParallelism, loadavg } from "node:os"
import { fileURLToPath } from "node:url"
import { GemmaModel, computeEstimate, disposeTape, disposeWeights, initParams, modelPresets, paramCount, uploadWeights } from "@dpipe/engine/model/gemma"
import type { ModelConfig } from "@dpipe/engine/model/gemma"
import { Trainer } from "@dpipe/engine/train/loop"
import type { TrainOptions } from "@dpipe/engine/train/loop"
import { LocalEngine } from "@dpipe/engine/train/engine"
import { DEFAULT_BACKEND, backendSummary, describeBackend, initBackend } from "@dpipe/engine/train/backend"
import { profileKernels } from "@dpipe/engine/train/profile"
import { clipFactors, perExampleSquaredNorms, weightedGradientSum } from "@dpipe/engine/dp/clip"
import { privatizeGradient } from "@dpipe/engine/dp/noise"
import { isOpenBlas, loadOpenBlas } from "@dpipe/engine/native/openblas"
import { adamwUpdate, defaultOptimizer, learningRate } from "@dpipe/engine/train/optimizer"
import { keyedStream } from "@dpipe/random/keyed-random"

const LIMIT_GFLOPS = 206

const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2
}

/** The figures of one shape (the keys `--json` reports). */
interface ShapeFigures {
  readonly nonPrivateTokensPerSec: number
  readonly dpTokensPerSec: number
  readonly naiveDpTokensPerSec: number
  readonly dpOverNonPrivate: number
  readonly twoCoreSpeedup: number
  readonly gflops: number
  readonly blasCore: string
  readonly nonPrivateTwoCoreTokensPerSec: number
  readonly dpTwoCoreTokensPerSec: number
  readonly dpTwoBlasThreadsTokensPerSec: number
  readonly wasmNonPrivateTokensPerSec: number
  readonly pytorch: PytorchFigures | null
}

interface PytorchFigures {
  readonly torch: string
  readonly results: ReadonlyArray<{ readonly threads: number; readonly tokensPerSec: number }>
}

/** python3 (PATH, then Debian's) with torch importable, or undefined. */
const findPython = (): string | undefined => {
  for (const py of ["python3", "/usr/bin/python3"]) {
    const r = spawnSync(py, ["-c", "import torch"], { stdio: "ignore", timeout: 60_000 })
    if (r.status === 0) return py
  }
  return undefined
}

const runPytorch = (python: string, cfg: ModelConfig, B: number, steps: number): PytorchFigures | null => {
  const script = fileURLToPath(new URL("./pytorch_train.py", import.meta.url))
  const args = [
    script,
    `--vocab=${cfg.vocabSize}`,
    `--ctx=${cfg.contextLength}`,
    `--d=${cfg.dModel}`,
    `--layers=${cfg.layers}`,
    `--heads=${cfg.heads}`,
    `--kv=${cfg.kvHeads}`,
    `--hd=${cfg.headDim}`,
    `--ffn=${cfg.ffnDim}`,
    `--batch=${B}`,
    `--steps=${steps}`,
    `--threads=1,2`
  ]
  const r = spawnSync(python, args, { env: { ...process.env, OMP_WAIT_POLICY: "PASSIVE" }, encoding: "utf8", timeout: 600_000 })
  if (r.status !== 0) return null
  const line = r.stdout.trim().split("\n").at(-1) ?? ""
  return JSON.parse(line) as PytorchFigures
}

const benchShape = async (
  name: string,
  cfg: ModelConfig,
  B: number,
  steps: number,
  python: string | undefined,
  log: (s: string) => void
): Promise<ShapeFigures> => {
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
  const tps = (ms: number) => (tokensPerStep / ms) * 1000

  log(`\n-- ${name}: vocab ${cfg.vocabSize}, ctx ${T}, d_model ${cfg.dModel}, ${cfg.layers} layers, ${cfg.heads} heads x ${cfg.headDim} (kv ${cfg.kvHeads}), GeGLU ${cfg.ffnDim}, tied; batch ${B}`)
  log(`params: ${paramCount(cfg)}; train FLOPs/token (6N + attention): ${(est.trainFlopsPerToken / 1e6).toFixed(2)} MFLOP; ${((tokensPerStep * est.trainFlopsPerToken) / 1e9).toFixed(1)} GFLOP per step`)

  const dp = { clipNorm: 1, noiseMultiplier: 1, expectedBatchSize: B, noiseKey: key }
  const configs: ReadonlyArray<readonly [string, Pick<TrainOptions, "dp" | "workers" | "backend"> & Partial<Pick<TrainOptions, "offThread" | "blasThreads" | "microBatchSize">>]> = [
    ["non-private, 1 worker", { dp: null, workers: 1, backend: DEFAULT_BACKEND }],
    ["DP fast clipping, 1 worker", { dp, workers: 1, backend: DEFAULT_BACKEND }],
    ["DP fast clipping, 2 workers", { dp, workers: 2, backend: DEFAULT_BACKEND }],
    ["non-private, 2 workers", { dp: null, workers: 2, backend: DEFAULT_BACKEND }],
    ["DP, 1 worker, 2 BLAS threads", { dp, workers: 1, backend: DEFAULT_BACKEND, blasThreads: 2 }],
    // the old path runs in its own thread (the BLAS kernels are installed per thread), in
    // micro-batches of 32 (the pipeline's default: at 64 the small model's [B*T, V]
    // intermediates outgrow the wasm heap)
    ["non-private, wasm (old path)", { dp: null, workers: 1, backend: "wasm", offThread: true, microBatchSize: Math.min(B, 32) }]
  ]
  const trainers: Array<Trainer> = []
  for (const [, opts] of configs) {
    trainers.push(await Trainer.create({ model: cfg, optimizer: defaultOptimizer(1000), dataset, selectBatch: batchAt, ...opts, microBatchSize: opts.microBatchSize ?? B }))
  }
  const rounds: Array<Array<number>> = []
  for (let i = 0; i < steps + 2; i++) {
    const round: Array<number> = []
    for (const t of trainers) round.push((await t.trainStep()).stepMs)
    if (i >= 2) rounds.push(round) // two warm-up steps (wasm heaps grow during the first steps)
  }
  for (const t of trainers) await t.close()
  const col = (j: number) => rounds.map((r) => r[j] as number)
  const ms = configs.map((_, j) => median(col(j)))
  const pairedRatio = (num: number, den: number) => median(rounds.map((r) => (r[num] as number) / (r[den] as number)))
  configs.forEach(([label], j) => log(`${label.padEnd(34)} ${(ms[j] as number).toFixed(0).padStart(6)} ms/step  ${tps(ms[j] as number).toFixed(0).padStart(6)} tokens/s`))

  // Naive DP: one backward pass per example, full per-example gradient, clip, sum, noise, AdamW.
  const engine = await LocalEngine.create({ model: cfg, dataset, backend: DEFAULT_BACKEND, microBatchSize: 1 })
  const opt = defaultOptimizer(1000)
  const params = initParams(cfg)
  const m = new Float32Array(params.length)
  const v = new Float32Array(params.length)
  const naiveMs: Array<number> = []
  for (let s = 0; s < Math.max(1, Math.min(2, steps)); s++) {
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
    adamwUpdate(opt, engine.model.layout, params, m, v, grad, s + 1, learningRate(opt, s))
    naiveMs.push(performance.now() - t0)
  }
  await engine.close()
  const nvMs = median(naiveMs)
  log(`${"DP naive per-example loop, 1 worker".padEnd(34)} ${nvMs.toFixed(0).padStart(6)} ms/step  ${tps(nvMs).toFixed(0).padStart(6)} tokens/s`)

  // Profile of one DP step in this thread: phases by wall time (best of 3), then tfjs kernels.
  await initBackend(DEFAULT_BACKEND)
  const model = new GemmaModel(cfg)
  const p0 = initParams(cfg)
  const seqs = new Int32Array(B * S)
  batchAt(1).indices.forEach((r, i) => seqs.set(tokens.subarray(r * S, r * S + S), i * S))
  const phase = { upload: Infinity, forwardBackward: Infinity, norms: Infinity, clippedSum: Infinity }
  for (let r = 0; r < 3; r++) {
    const t0 = performance.now()
    const w = uploadWeights(cfg, p0)
    const t1 = performance.now()
    const tape = model.forwardBackward(w, seqs, B, S)
    tape.losses.dataSync()
    const t2 = performance.now()
    const nr = perExampleSquaredNorms(tape)
    const t3 = performance.now()
    weightedGradientSum(cfg, tape, clipFactors(nr.sq, 1).c, nr.direct, null, nr.loop)
    const t4 = performance.now()
    for (const t of nr.direct.values()) t.dispose()
    disposeTape(tape)
    disposeWeights(w)
    phase.upload = Math.min(phase.upload, t1 - t0)
    phase.forwardBackward = Math.min(phase.forwardBackward, t2 - t1)
    phase.norms = Math.min(phase.norms, t3 - t2)
    phase.clippedSum = Math.min(phase.clippedSum, t4 - t3)
  }
  const w = uploadWeights(cfg, p0)
  const pr = await profileKernels(() => {
    const tape = model.forwardBackward(w, seqs, B, S)
    disposeTape(tape)
  })
  disposeWeights(w)
  model.dispose()
  const matmulMs = pr.byKernel.filter(([k]) => k === "BatchMatMul" || k === "_FusedMatMul" || k === "DepthwiseConv2dNative").reduce((a, [, t]) => a + t, 0)
  const phaseTotal = phase.upload + phase.forwardBackward + phase.norms + phase.clippedSum
  log(`profile of one DP step (${describeBackend()}), phases by wall time, best of 3 (${phaseTotal.toFixed(0)} ms; AdamW and noise come on top):`)
  log(`  weight upload ${phase.upload.toFixed(0)} ms, forward + backward ${phase.forwardBackward.toFixed(0)} ms, per-example norms ${phase.norms.toFixed(0)} ms, clipped (book-keeping) sum ${phase.clippedSum.toFixed(0)} ms`)
  log(`  forward + backward under the tfjs profiler (${pr.kernels} kernels, wall ${pr.wallMs.toFixed(0)} ms): matmul kernels ${matmulMs.toFixed(0)} ms, other kernels ${(pr.kernelMs - matmulMs).toFixed(0)} ms, outside kernels ${(pr.wallMs - pr.kernelMs).toFixed(0)} ms`)
  log(`  ${pr.byKernel
    .slice(0, 8)
    .map(([k, t]) => `${k} ${t.toFixed(0)}`)
    .join(", ")} (ms)`)

  const blas = loadOpenBlas()
  const dpBest = Math.min(ms[1] as number, ms[2] as number)
  const gflops = (tps(dpBest) * est.trainFlopsPerToken) / 1e9
  const pytorch = python === undefined ? null : runPytorch(python, cfg, B, steps)
  const figures: ShapeFigures = {
    nonPrivateTokensPerSec: Math.round(tps(ms[0] as number)),
    dpTokensPerSec: Math.round(tps(ms[1] as number)),
    naiveDpTokensPerSec: Math.round(tps(nvMs)),
    dpOverNonPrivate: pairedRatio(1, 0),
    twoCoreSpeedup: pairedRatio(1, 2),
    gflops,
    blasCore: isOpenBlas(blas) ? blas.corename : "none (wasm fallback)",
    nonPrivateTwoCoreTokensPerSec: Math.round(tps(ms[3] as number)),
    dpTwoCoreTokensPerSec: Math.round(tps(ms[2] as number)),
    dpTwoBlasThreadsTokensPerSec: Math.round(tps(ms[4] as number)),
    wasmNonPrivateTokensPerSec: Math.round(tps(ms[5] as number)),
    pytorch
  }
  log(`DP / non-private step time (1 worker): ${figures.dpOverNonPrivate.toFixed(2)}x (goal <= 1.2); fast / naive DP: ${(nvMs / (ms[1] as number)).toFixed(1)}x`)
  log(`two cores in one step (DP, 2 workers sharing the parameters vs 1): ${figures.twoCoreSpeedup.toFixed(2)}x; non-private ${pairedRatio(0, 3).toFixed(2)}x; DP with 2 OpenBLAS threads instead: ${pairedRatio(1, 4).toFixed(2)}x`)
  log(`native over the old wasm path (non-private, 1 worker): ${pairedRatio(5, 0).toFixed(2)}x`)
  log(`achieved: ${gflops.toFixed(1)} GFLOP/s of model FLOPs in DP training (${((100 * gflops) / LIMIT_GFLOPS).toFixed(1)}% of the ${LIMIT_GFLOPS} GFLOP/s two-core sgemm limit)`)
  if (pytorch === null) log("PyTorch: not measured (python3 with torch not found, or the script failed)")
  else {
    const best = Math.max(...pytorch.results.map((r) => r.tokensPerSec))
    const bestDpipe = Math.max(figures.nonPrivateTokensPerSec, figures.nonPrivateTwoCoreTokensPerSec)
    log(`PyTorch ${pytorch.torch} (same model, AdamW, OMP_WAIT_POLICY=PASSIVE), non-private: ${pytorch.results.map((r) => `${r.tokensPerSec} tokens/s on ${r.threads} thread(s)`).join(", ")}`)
    log(`dpipe non-private best (1 or 2 workers) ${bestDpipe} vs PyTorch best ${best}: ${(bestDpipe / best).toFixed(2)}x`)
  }
  return figures
}

export const main = async (argv: ReadonlyArray<string>): Promise<void> => {
  const json = argv.includes("--json")
  const stepsArg = argv.find((a) => a.startsWith("--steps="))
  const steps = stepsArg !== undefined ? Math.max(1, Number(stepsArg.slice("--steps=".length))) : 5
  const log = (s: string) => {
    if (!json) console.log(s)
  }
  const backend = await initBackend(DEFAULT_BACKEND)
  log(`load average at start: ${loadavg().map((x) => x.toFixed(2)).join(" ")} on ${availableParallelism()} cores (other processes skew every figure, most of all the two-core ones)`)
  log(`default backend: ${backendSummary(DEFAULT_BACKEND)}${backend === "native" ? ", one OpenBLAS thread per engine thread (blasThreads default)" : ""}`)
  const python = argv.includes("--no-pytorch") ? undefined : findPython()
  const tiny = await benchShape("tiny (the PyTorch comparison shape)", modelPresets.tiny, 64, steps, python, log)
  const small = argv.includes("--no-small") ? undefined : await benchShape("small", modelPresets.small, 64, steps, python, log)
  const rssMb = Math.round(process.resourceUsage().maxRSS / 1024)
  log(`\npeak RSS: ${rssMb} MB; load average at end: ${loadavg().map((x) => x.toFixed(2)).join(" ")}`)
  if (json) console.log(JSON.stringify({ ...tiny, ...(small === undefined ? {} : { small }), peakRssMb: rssMb, loadAverage: loadavg()[0] }))
}

if (import.meta.url === `file://${process.argv[1]}`) await main(process.argv.slice(2))
