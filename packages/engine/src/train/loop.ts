/**
 * The training loop: DP-SGD (Abadi et al. 2016) with per-example clipping by book-keeping
 * (Bu et al. 2023), keyed Gaussian noise once per logical step, normalisation by the
 * expected batch size, and AdamW with warmup + cosine (Loshchilov & Hutter). The
 * non-private mode runs the same code without clipping and noise and divides by the
 * realized batch size: it is the baseline for overhead.
 *
 * Injected: `selectBatch(step)` (the sampler: Poisson / truncated Poisson, owned by
 * sampling/), `onStep(metrics)` (metrics sink). The full state (`TrainState`) can be taken
 * after any step and restored; restoring and continuing is bit-identical to not stopping
 * for the same backend and worker count, because every step is a pure function of
 * (state, selectBatch(step), noise key, step).
 */
import { Schema } from "effect"
import { GemmaModel, computeEstimate, disposeWeights, initParams, paramLayout, uploadWeights } from "@dpipe/engine/model/gemma"
import type { ModelConfig, ParamSpec } from "@dpipe/engine/model/gemma"
import { privatizeGradient, stepNoise } from "@dpipe/engine/dp/noise"
import type { NormStrategy } from "@dpipe/engine/dp/clip"
import { adamwUpdate, learningRate } from "@dpipe/engine/train/optimizer"
import type { OptimizerConfig } from "@dpipe/engine/train/optimizer"
import { createEngine, gatherSequences } from "@dpipe/engine/train/engine"
import type { GradientEngine, SequenceDataset } from "@dpipe/engine/train/engine"
import { initBackend } from "@dpipe/engine/train/backend"
import type { BackendName } from "@dpipe/engine/train/backend"

/** DP parameters the loop needs; the training stage derives them from its config (docs/architecture.md, The DP execution plan). */
export interface DpMechanism {
  readonly clipNorm: number
  readonly noiseMultiplier: number
  /** q * N, the public normalizer. */
  readonly expectedBatchSize: number
  /** 32-byte secret key of the run's noise stream (sensitive: never log it). */
  readonly noiseKey: Uint8Array
}

export interface TrainOptions {
  readonly model: ModelConfig
  readonly optimizer: OptimizerConfig
  /** DP mechanism, or null for non-private training. */
  readonly dp: DpMechanism | null
  readonly dataset: SequenceDataset
  readonly backend: BackendName
  readonly workers: number
  /** Run the gradient engine in a worker thread even with one worker (two trainers, two cores). */
  readonly offThread?: boolean
  readonly microBatchSize: number
  readonly normStrategy?: NormStrategy
  /** OpenBLAS threads per call on the native backend (default 1; see train/engine.ts). */
  readonly blasThreads?: number
  /** Seed of the (public) initialisation when no state is restored. */
  readonly initSeed?: number
  /** The batch for 0-based step `step`: sequence indices plus the count of zero-weight padding examples. */
  readonly selectBatch: (step: number) => BatchSelection | Promise<BatchSelection>
  readonly onStep?: (m: StepMetrics) => void | Promise<void>
  /**
   * Diagnostic hook: receives the gradient handed to the optimizer (DP mode: the noisy,
   * normalised gradient, a DP release; non-private: the plain mean). Used by tests.
   */
  readonly inspectGradient?: (step: number, grad: Float32Array) => void
  /**
   * Audit hook (dp/audit-canaries.ts): adds the step's audit-canary gradients, each of norm
   * at most the clip norm, to the clipped sum before the noise, and returns how many it added
   * (counted in the non-private mean). Never set in production training.
   */
  readonly addToSum?: (step: number, sum: Float64Array) => number
}

export interface BatchSelection {
  readonly indices: Int32Array
  /** Zero-weight dummy examples (truncated Poisson padding): counted, contribute exactly 0, not computed. */
  readonly padding?: number
}

/**
 * Per-step metrics. PRIVATE: loss, gradient norms and clipped fraction are computed from
 * private data WITHOUT noise (docs/privacy.md, P6); do not release them unless accounted.
 */
export interface StepMetrics {
  readonly private: true
  /**
   * 0-based index of the step just taken, counting every step executed (steps later
   * discarded by a rollback included): it keys the step's batch and noise.
   */
  readonly step: number
  /** Optimizer updates the weights had before this step (equals `step` until a rollback). */
  readonly progressStep: number
  readonly realizedBatchSize: number
  readonly padding: number
  /** Mean per-example loss over finite examples (NaN if none). */
  readonly loss: number
  readonly gradNormMean: number
  readonly gradNormP50: number
  readonly gradNormP90: number
  readonly clippedFraction: number
  readonly nonFinite: number
  readonly lr: number
  readonly tokensPerSec: number
  readonly stepMs: number
}

export interface TrainCounters {
  /** Real (non-padding) examples processed. */
  readonly examples: number
  readonly padding: number
  readonly tokens: number
  readonly clipped: number
  readonly nonFinite: number
  /** Steps whose realized batch was empty (noise-only in DP mode). */
  readonly emptySteps: number
}

/** Everything needed to resume bit-identically. Sensitive (derived from private data). */
export interface TrainState {
  /** Completed steps = 0-based index of the next step. */
  readonly step: number
  readonly params: Readonly<Record<string, Float32Array>>
  readonly adamM: Readonly<Record<string, Float32Array>>
  readonly adamV: Readonly<Record<string, Float32Array>>
  readonly counters: TrainCounters
  /**
   * Steps executed, discarded ones included (default `step`): the index of the next
   * step's batch and noise, so a rollback never draws them twice (docs/privacy.md, P12).
   */
  readonly executed?: number
  /** Factor on the learning-rate schedule (default 1; lowered by rollbacks). */
  readonly lrScale?: number
}

/** The state's plain-data shape as a Schema (Float32Arrays are kept as-is). */
export const TrainCountersSchema = Schema.Struct({
  examples: Schema.Int,
  padding: Schema.Int,
  tokens: Schema.Int,
  clipped: Schema.Int,
  nonFinite: Schema.Int,
  emptySteps: Schema.Int
})

const toNamed = (layout: ReadonlyArray<ParamSpec>, flat: Float32Array): Record<string, Float32Array> => {
  const out: Record<string, Float32Array> = {}
  for (const s of layout) out[s.name] = flat.slice(s.offset, s.offset + s.size)
  return out
}
const fromNamed = (layout: ReadonlyArray<ParamSpec>, named: Readonly<Record<string, Float32Array>>, what: string): Float32Array => {
  const total = layout.reduce((a, s) => a + s.size, 0)
  const out = new Float32Array(total)
  for (const s of layout) {
    const v = named[s.name]
    if (v === undefined || v.length !== s.size) throw new RangeError(`${what}.${s.name}: expected ${s.size} values, got ${v?.length ?? "none"}`)
    out.set(v, s.offset)
  }
  return out
}

const quantile = (sorted: Float32Array, q: number): number => {
  if (sorted.length === 0) return Number.NaN
  const pos = q * (sorted.length - 1)
  const lo = Math.floor(pos)
  const hi = Math.min(sorted.length - 1, lo + 1)
  return (sorted[lo] as number) + ((sorted[hi] as number) - (sorted[lo] as number)) * (pos - lo)
}

export class Trainer {
  private params: Float32Array
  private m: Float32Array
  private v: Float32Array
  private stepIndex = 0
  private drawIndex = 0
  private lrScale = 1
  private counters: TrainCounters = { examples: 0, padding: 0, tokens: 0, clipped: 0, nonFinite: 0, emptySteps: 0 }
  readonly layout: ReadonlyArray<ParamSpec>

  readonly opts: TrainOptions
  private readonly engine: GradientEngine

  private constructor(opts: TrainOptions, engine: GradientEngine) {
    this.opts = opts
    this.engine = engine
    this.layout = paramLayout(opts.model)
    this.params = initParams(opts.model, opts.initSeed ?? 0)
    this.m = new Float32Array(this.params.length)
    this.v = new Float32Array(this.params.length)
  }

  /** Starts the backend (and workers) and initialises weights from `initSeed`, or from `state`. */
  static async create(opts: TrainOptions, state?: TrainState): Promise<Trainer> {
    if (opts.dataset.seqLen > opts.model.contextLength + 1) {
      throw new RangeError(`dataset sequences (${opts.dataset.seqLen}) exceed contextLength + 1 (${opts.model.contextLength + 1})`)
    }
    const engineOpts = {
      model: opts.model,
      dataset: opts.dataset,
      backend: opts.backend,
      microBatchSize: opts.microBatchSize,
      ...(opts.normStrategy === undefined ? {} : { normStrategy: opts.normStrategy }),
      ...(opts.blasThreads === undefined ? {} : { blasThreads: opts.blasThreads })
    }
    const engine = await createEngine(engineOpts, opts.workers, opts.offThread ?? false)
    const t = new Trainer(opts, engine)
    if (state !== undefined) t.restore(state)
    return t
  }

  /** Completed steps. */
  get step(): number {
    return this.stepIndex
  }

  /** Executed steps, including those a rollback discarded (the next batch and noise index). */
  get executed(): number {
    return this.drawIndex
  }

  /** A copy of the full state. */
  getState(): TrainState {
    return {
      step: this.stepIndex,
      params: toNamed(this.layout, this.params),
      adamM: toNamed(this.layout, this.m),
      adamV: toNamed(this.layout, this.v),
      counters: { ...this.counters },
      executed: this.drawIndex,
      lrScale: this.lrScale
    }
  }

  /** Replaces the state (copies the arrays). */
  restore(s: TrainState): void {
    this.params = fromNamed(this.layout, s.params, "params")
    this.m = fromNamed(this.layout, s.adamM, "adamM")
    this.v = fromNamed(this.layout, s.adamV, "adamV")
    this.stepIndex = s.step
    this.counters = { ...s.counters }
    this.drawIndex = s.executed ?? s.step
    this.lrScale = s.lrScale ?? 1
  }

  /**
   * Rolls the weights, moments and update count back to `s` and scales the learning rate
   * by `lrScale`, keeping the executed-step count and the counters: the next step draws
   * a fresh batch and fresh noise (docs/privacy.md, P12).
   */
  rollBack(s: TrainState, lrScale: number): void {
    const executed = this.drawIndex
    const counters = this.counters
    this.restore(s)
    this.drawIndex = executed
    this.counters = counters
    this.lrScale = lrScale
  }

  /** The current weights as one flat vector (a copy), in `paramLayout` order. */
  flatParams(): Float32Array {
    return this.params.slice()
  }

  /** Runs one logical step and returns its (private) metrics. */
  async trainStep(): Promise<StepMetrics> {
    const t0 = performance.now()
    const progressStep = this.stepIndex
    // Batch, noise and the schedule follow the executed-step index (equal to the update
    // count until a rollback), so no batch or noise draw is ever used twice.
    const step = this.drawIndex
    const o = this.opts
    const sel = await o.selectBatch(step)
    const n = sel.indices.length
    const padding = sel.padding ?? 0
    const dp = o.dp
    const pending = this.engine.compute(this.params, sel.indices, dp === null ? null : dp.clipNorm)
    // Draw this step's noise while the workers compute (it does not depend on their result).
    const noise = dp === null ? undefined : stepNoise(dp.noiseKey, step, new Float64Array(this.params.length), dp.noiseMultiplier * dp.clipNorm)
    const r = await pending
    const added = o.addToSum?.(step, r.sum) ?? 0
    let grad: Float32Array
    if (dp !== null && noise !== undefined) {
      grad = privatizeGradient(r.sum, { key: dp.noiseKey, step, std: dp.noiseMultiplier * dp.clipNorm, expectedBatchSize: dp.expectedBatchSize, noise })
    } else {
      grad = new Float32Array(r.sum.length)
      const denom = Math.max(1, n - r.nonFinite + added)
      for (let i = 0; i < grad.length; i++) grad[i] = (r.sum[i] as number) / denom
    }
    o.inspectGradient?.(step, grad)
    const lr = learningRate(o.optimizer, step) * this.lrScale
    adamwUpdate(o.optimizer, this.layout, this.params, this.m, this.v, grad, progressStep + 1, lr)
    this.stepIndex = progressStep + 1
    this.drawIndex = step + 1
    const T = o.dataset.seqLen - 1
    const c = this.counters
    this.counters = {
      examples: c.examples + n,
      padding: c.padding + padding,
      tokens: c.tokens + n * T,
      clipped: c.clipped + r.clipped,
      nonFinite: c.nonFinite + r.nonFinite,
      emptySteps: c.emptySteps + (n === 0 ? 1 : 0)
    }
    let lossSum = 0
    let lossN = 0
    for (const l of r.losses) if (Number.isFinite(l)) (lossSum += l), lossN++
    const finiteNorms = r.norms.filter((x) => Number.isFinite(x)).sort()
    const normMean = finiteNorms.length === 0 ? Number.NaN : finiteNorms.reduce((a, b) => a + b, 0) / finiteNorms.length
    const ms = performance.now() - t0
    const metrics: StepMetrics = {
      private: true,
      step,
      progressStep,
      realizedBatchSize: n,
      padding,
      loss: lossN === 0 ? Number.NaN : lossSum / lossN,
      gradNormMean: normMean,
      gradNormP50: quantile(finiteNorms, 0.5),
      gradNormP90: quantile(finiteNorms, 0.9),
      clippedFraction: n === 0 || dp === null ? 0 : r.clipped / n,
      nonFinite: r.nonFinite,
      lr,
      tokensPerSec: (n * T) / (ms / 1000),
      stepMs: ms
    }
    if (o.onStep !== undefined) await o.onStep(metrics)
    return metrics
  }

  /** Runs steps until `untilStep` completed steps (default: optimizer.totalSteps). */
  async run(untilStep = this.opts.optimizer.totalSteps): Promise<void> {
    while (this.stepIndex < untilStep) await this.trainStep()
  }

  /** Stops workers and frees tensors. */
  async close(): Promise<void> {
    await this.engine.close()
  }
}

/**
 * Mean per-example loss of dataset rows `indices` under flat weights `params`, in this
 * thread (forward only). The result is private if the rows are.
 */
export const evaluateLoss = async (
  model: ModelConfig,
  params: Float32Array,
  dataset: SequenceDataset,
  indices: Int32Array,
  backend: BackendName = "wasm",
  microBatchSize = 64
): Promise<number> => {
  await initBackend(backend)
  const gm = new GemmaModel(model)
  const w = uploadWeights(model, params)
  let sum = 0
  try {
    for (let s = 0; s < indices.length; s += microBatchSize) {
      const idx = indices.subarray(s, Math.min(indices.length, s + microBatchSize))
      for (const l of gm.losses(w, gatherSequences(dataset, idx), idx.length, dataset.seqLen)) sum += l
    }
  } finally {
    disposeWeights(w)
    gm.dispose()
  }
  return sum / Math.max(1, indices.length)
}

/** Compute estimate for printing at plan time (`1b` plans print this). */
export const describeCompute = (model: ModelConfig, tokens: number): string => {
  const e = computeEstimate(model)
  const total = e.trainFlopsPerToken * tokens
  return `params ${(e.params / 1e6).toFixed(2)}M, ~${(e.trainFlopsPerToken / 1e9).toFixed(3)} GFLOP/token train, ${tokens.toExponential(2)} tokens -> ${total.toExponential(2)} FLOP`
}
