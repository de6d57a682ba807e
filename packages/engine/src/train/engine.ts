/**
 * Gradient engines: compute, for one logical batch, the sum of clipped per-example
 * gradients (DP) or of plain gradients (non-private), split into physical micro-batches.
 *
 * - `LocalEngine`: in this thread, on this thread's tfjs backend.
 * - `WorkerEngine`: k worker threads, each with its own tfjs instance and a LocalEngine;
 *   worker w gets the w-th contiguous share of the batch; the coordinator adds the k
 *   partial sums in worker order (fixed), so results are deterministic for a given k.
 *
 * Both cores in one step: `WorkerEngine` with 2 workers splits the batch between two
 * threads that share the parameters (one SharedArrayBuffer per step, not a copy per
 * worker); each thread runs its OpenBLAS calls on one BLAS thread (`blasThreads`), since
 * a second BLAS thread does not speed up the skinny products of a small transformer and
 * the batch split also parallelises everything that is not a matrix product.
 *
 * Micro-batch sums are accumulated in float64 in a fixed order. No noise here: the
 * trainer adds it once per logical step (docs/privacy.md, P2).
 */
import { Worker } from "node:worker_threads"
import { GemmaModel, disposeWeights, paramCount, uploadWeights } from "@dpipe/engine/model/gemma"
import type { ModelConfig } from "@dpipe/engine/model/gemma"
import { microBatchGradient } from "@dpipe/engine/dp/clip"
import type { NormStrategy } from "@dpipe/engine/dp/clip"
import { initBackend, noteFallback } from "@dpipe/engine/train/backend"
import { isOpenBlas, loadOpenBlas } from "@dpipe/engine/native/openblas"
import { nativeBlas } from "@dpipe/engine/native/wasm-kernels"
import type { BackendName } from "@dpipe/engine/train/backend"

/** Packed training sequences: `count` rows of `seqLen` token ids (seqLen <= contextLength + 1). */
export interface SequenceDataset {
  readonly tokens: Int32Array
  readonly seqLen: number
  readonly count: number
}

export interface EngineOptions {
  readonly model: ModelConfig
  readonly dataset: SequenceDataset
  readonly backend: BackendName
  /** Examples per physical micro-batch (memory bound). */
  readonly microBatchSize: number
  readonly normStrategy?: NormStrategy
  /**
   * OpenBLAS threads per call on the native backend (process-wide: set before each
   * computation). Default 1; raise it for one engine alone with large products.
   */
  readonly blasThreads?: number
}

/** Partial result for a set of examples. PRIVATE: losses and norms are unnoised functions of private data. */
export interface BatchGradient {
  /** sum_i c_i G_i (DP) or sum_i G_i, flat float64 in paramLayout order. */
  readonly sum: Float64Array
  /** Per-example losses, in batch order (private). */
  readonly losses: Float32Array
  /** Per-example pre-clip gradient norms (private; empty when non-private). */
  readonly norms: Float32Array
  readonly clipped: number
  readonly nonFinite: number
}

export interface GradientEngine {
  /** `clipNorm` null: non-private (no clipping). */
  compute(params: Float32Array, indices: Int32Array, clipNorm: number | null): Promise<BatchGradient>
  close(): Promise<void>
}

/** Rows `indices` of the dataset as one [B, S] array. */
export const gatherSequences = (ds: SequenceDataset, indices: Int32Array): Int32Array => {
  const S = ds.seqLen
  const out = new Int32Array(indices.length * S)
  for (let r = 0; r < indices.length; r++) {
    const i = indices[r] as number
    if (!(i >= 0 && i < ds.count)) throw new RangeError(`sequence index ${i} outside [0, ${ds.count})`)
    out.set(ds.tokens.subarray(i * S, i * S + S), r * S)
  }
  return out
}

const concatF32 = (parts: ReadonlyArray<Float32Array>): Float32Array => {
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0))
  let o = 0
  for (const p of parts) {
    out.set(p, o)
    o += p.length
  }
  return out
}

/** In-thread engine. Call `LocalEngine.create` (initialises the backend). */
export class LocalEngine implements GradientEngine {
  readonly model: GemmaModel
  private readonly opts: EngineOptions
  readonly backend: BackendName
  private constructor(opts: EngineOptions, backend: BackendName) {
    this.opts = opts
    this.backend = backend
    this.model = new GemmaModel(opts.model)
  }
  static async create(opts: EngineOptions): Promise<LocalEngine> {
    const backend = await initBackend(opts.backend)
    return new LocalEngine(opts, backend)
  }

  /** Synchronous core (workers and the async API share it). */
  computeSync(params: Float32Array, indices: Int32Array, clipNorm: number | null): BatchGradient {
    const total = paramCount(this.opts.model)
    const sum = new Float64Array(total)
    const losses: Array<Float32Array> = []
    const norms: Array<Float32Array> = []
    let clipped = 0
    let nonFinite = 0
    if (indices.length === 0) return { sum, losses: new Float32Array(0), norms: new Float32Array(0), clipped, nonFinite }
    nativeBlas()?.setThreads(this.opts.blasThreads ?? 1)
    const w = uploadWeights(this.opts.model, params)
    try {
      const mb = Math.max(1, this.opts.microBatchSize)
      const S = this.opts.dataset.seqLen
      for (let start = 0; start < indices.length; start += mb) {
        const idx = indices.subarray(start, Math.min(indices.length, start + mb))
        const seqs = gatherSequences(this.opts.dataset, idx)
        const opts = this.opts.normStrategy === undefined ? {} : { strategy: this.opts.normStrategy }
        const r = microBatchGradient(this.model, w, seqs, idx.length, S, clipNorm, opts)
        for (let j = 0; j < total; j++) sum[j] = (sum[j] as number) + (r.sum[j] as number)
        losses.push(r.losses)
        norms.push(r.norms)
        clipped += r.clipped
        nonFinite += r.nonFinite
      }
    } finally {
      disposeWeights(w)
    }
    return { sum, losses: concatF32(losses), norms: concatF32(norms), clipped, nonFinite }
  }

  compute(params: Float32Array, indices: Int32Array, clipNorm: number | null): Promise<BatchGradient> {
    return Promise.resolve(this.computeSync(params, indices, clipNorm))
  }

  close(): Promise<void> {
    this.model.dispose()
    return Promise.resolve()
  }
}

// ---------------------------------------------------------------------------
// Worker threads
// ---------------------------------------------------------------------------

/** Messages to a worker. */
export type WorkerRequest =
  | { readonly type: "init"; readonly opts: EngineOptions }
  | { readonly type: "compute"; readonly id: number; readonly params: Float32Array; readonly indices: Int32Array; readonly clipNorm: number | null }
/** Messages from a worker. */
export type WorkerReply =
  | { readonly type: "ready"; readonly backend: BackendName }
  | { readonly type: "result"; readonly id: number; readonly result: BatchGradient }
  | { readonly type: "error"; readonly id: number; readonly message: string }

/** Worker-thread engine: `workers` threads, one tfjs instance each. */
export class WorkerEngine implements GradientEngine {
  private nextId = 0
  private readonly pending = new Map<number, { resolve: (r: BatchGradient) => void; reject: (e: Error) => void }>()
  private readonly workers: ReadonlyArray<Worker>
  private constructor(workers: ReadonlyArray<Worker>) {
    this.workers = workers
    for (const wk of workers) {
      wk.on("message", (m: WorkerReply) => {
        if (m.type === "ready") return
        const p = this.pending.get(m.id)
        if (p === undefined) return
        this.pending.delete(m.id)
        if (m.type === "result") p.resolve(m.result)
        else p.reject(new Error(`gradient worker failed: ${m.message}`))
      })
      wk.on("error", (e) => {
        for (const p of this.pending.values()) p.reject(e instanceof Error ? e : new Error(String(e)))
        this.pending.clear()
      })
    }
  }

  static async create(opts: EngineOptions, workers: number): Promise<WorkerEngine> {
    const url = new URL("./worker.ts", import.meta.url)
    const list: Array<Worker> = []
    for (let i = 0; i < workers; i++) list.push(new Worker(url, { execArgv: [] }))
    await Promise.all(
      list.map(
        (wk) =>
          new Promise<void>((resolve, reject) => {
            const onMsg = (m: WorkerReply) => {
              if (m.type === "ready") {
                if (opts.backend === "native" && m.backend !== "native") {
                  const blas = loadOpenBlas()
                  noteFallback(isOpenBlas(blas) ? "a worker thread could not install the native kernels" : blas.reason)
                }
                wk.off("message", onMsg)
                resolve()
              } else if (m.type === "error") reject(new Error(m.message))
            }
            wk.on("message", onMsg)
            wk.once("error", reject)
            const req: WorkerRequest = { type: "init", opts }
            wk.postMessage(req)
          })
      )
    )
    return new WorkerEngine(list)
  }

  /** Posts the shares; returns the promise of the combined result (so the caller can work meanwhile). */
  compute(params: Float32Array, indices: Int32Array, clipNorm: number | null): Promise<BatchGradient> {
    const k = this.workers.length
    const n = indices.length
    // one copy of the parameters shared by every worker (posting a plain array clones it per worker)
    const shared = k > 1 ? new Float32Array(new SharedArrayBuffer(params.byteLength)) : params
    if (shared !== params) shared.set(params)
    const parts = this.workers.map((wk, w) => {
      const share = indices.slice(Math.floor((w * n) / k), Math.floor(((w + 1) * n) / k))
      const id = this.nextId++
      return new Promise<BatchGradient>((resolve, reject) => {
        this.pending.set(id, { resolve, reject })
        const req: WorkerRequest = { type: "compute", id, params: shared, indices: share, clipNorm }
        wk.postMessage(req)
      })
    })
    return Promise.all(parts).then((rs) => {
      const first = rs[0]
      if (first === undefined) throw new Error("no workers")
      const sum = new Float64Array(first.sum)
      for (let w = 1; w < rs.length; w++) {
        const s = (rs[w] as BatchGradient).sum
        for (let j = 0; j < sum.length; j++) sum[j] = (sum[j] as number) + (s[j] as number)
      }
      return {
        sum,
        losses: concatF32(rs.map((r) => r.losses)),
        norms: concatF32(rs.map((r) => r.norms)),
        clipped: rs.reduce((a, r) => a + r.clipped, 0),
        nonFinite: rs.reduce((a, r) => a + r.nonFinite, 0)
      }
    })
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()))
  }
}

/** A LocalEngine for 1 worker, a WorkerEngine otherwise. */
/**
 * One engine in this thread (`workers` <= 1), or `workers` worker threads. With
 * `offThread`, even a single worker runs in its own thread, so that two trainers of one
 * process (the DP run and its baseline) use two cores.
 */
export const createEngine = (opts: EngineOptions, workers: number, offThread = false): Promise<GradientEngine> =>
  workers <= 1 && !offThread ? LocalEngine.create(opts) : WorkerEngine.create(opts, Math.max(1, workers))
