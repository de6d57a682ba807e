/**
 * Per-example gradient norms and clipped gradient sums without per-example backward passes.
 *
 * Input: the tape of `GemmaModel.forwardBackward` (for every parameter, the tensors that
 * determine its per-example gradients G_i). Output: ||G_i|| over all parameters, the clip
 * factors c_i = min(1, C / ||G_i||) (Abadi et al. 2016, "Deep Learning with Differential
 * Privacy"), and sum_i c_i G_i formed from the same stored tensors ("book-keeping",
 * Bu et al. 2023, "Differentially Private Optimization on Large Model at Small Cost").
 *
 * Per parameter group, for example i:
 * - linear y = a W, G_i = a_i^T g_i (Goodfellow 2015, "Efficient Per-Example Gradient
 *   Computations"):
 *     ghost norm  ||G_i||^2 = sum_{s,t} (a_i a_i^T)[s,t] (g_i g_i^T)[s,t]   cost O(T^2 (d+p))
 *       (Li et al. 2022, "Large Language Models Can Be Strong Differentially Private Learners")
 *     direct      materialise G_i [d,p] per example                       cost O(T d p)
 *   chosen per layer by cost (`auto`), direct only while the [B,d,p] tensor fits `directMaxBytes`.
 *   With direct, the clipped sum is sum_i c_i G_i (a cheap contraction of the stored G);
 *   with ghost, it is the book-keeping product a^T (c g) (one matmul).
 * - embedding E[x]: G_i = sum_t onehot(x_t)^T g_t; ||G_i||^2 = sum_{s,t} [x_s = x_t] g_s.g_t
 *   (the token-equality mask replaces a a^T; Li et al. 2022). The clipped sum is a
 *   scatter-add of c_i g_t into row x_t, done in JS (wasm lacks UnsortedSegmentSum).
 * - RMSNorm scale: G_i = sum_t xhat_t * g_t, computed directly ([B, d]).
 * - tied embedding (input lookup and output projection share E): the per-example
 *   gradient is A_i + B_i (A: lookup, B = gL_i^T uf_i: head). We clip against the EXACT
 *   norm ||A_i + B_i||^2 = ||A_i||^2 + ||B_i||^2 + 2 <A_i, B_i>, with
 *   <A_i, B_i> = sum_{s,t} (uf_t . g_s) gL[t, x_s]  (cost O(T^2 d) plus a gather).
 *
 * Non-finite per-example norms (NaN/Inf anywhere in example i's gradient) get c_i = 0, and
 * that example's tensors are zeroed before summation so that 0 * NaN cannot leak into the
 * sum (docs/privacy.md, P5); they are counted.
 */
import * as tf from "@tensorflow/tfjs-core"
import type { GemmaModel, ModelConfig, ParamSpec, Tape, TapeEntry } from "@dpipe/engine/model/gemma"
import { disposeTape, paramLayout } from "@dpipe/engine/model/gemma"
import { linearSquaredNormsBlas } from "@dpipe/engine/dp/blas-norms"
import { nativeBlas, nativeKernelsActive, tensorHeapView } from "@dpipe/engine/native/wasm-kernels"

/**
 * - "ghost": batched Gram matrices (a a^T, g g^T).
 * - "direct": batched per-example a_i^T g_i (one batched matmul).
 * - "loop": direct, but one non-batched matmul per example. On wasm only non-batched,
 *   non-transposed matmuls reach XNNPACK (~10 GFLOP/s vs ~1 for batched), so this is the
 *   fast direct method there; the per-example gradients stay in JS for the clipped sum.
 * - "grouped": direct, all examples in ONE grouped GEMM (a depthwise convolution with
 *   channel multiplier, which wasm runs through XNNPACK), [din, B, dout] kept in wasm for
 *   the norms only; the clipped sum is then the book-keeping product a^T (c g).
 * - "blas": per example, direct or ghost (the cheaper), as OpenBLAS calls on the tape's
 *   memory (dp/blas-norms.ts); the clipped sum is the book-keeping product a^T (c g).
 *   Needs the native backend; elsewhere it means "auto".
 * - "auto": "blas" on the native backend; elsewhere ghost when T (d + p) < d p, else loop
 *   (direct memory permitting, else ghost).
 */
export type NormStrategy = "auto" | "ghost" | "direct" | "loop" | "grouped" | "blas"

export interface ClipOptions {
  /** How linear layers get their per-example norms. Default "auto" (cheaper of the two). */
  readonly strategy?: NormStrategy
  /** Largest [B, d, p] per-example gradient tensor materialised by the direct method. Default 256 MiB. */
  readonly directMaxBytes?: number
  /** Also return squared norms per parameter (tests, diagnostics). */
  readonly byParam?: boolean
}

/** Squared per-example norms and whatever was materialised to compute them. */
export interface NormResult {
  /** ||G_i||^2 over all parameters, [B]. */
  readonly sq: Float32Array
  /** Squared norms per parameter name (only when `byParam`). */
  readonly byParam: ReadonlyMap<string, Float32Array> | undefined
  /** Per-example gradients materialised by the direct method, reused for the clipped sum. */
  readonly direct: Map<TapeEntry, tf.Tensor3D>
  /** Per-example a_i^T g_i ([din, dout] row-major, one array per example) from the loop method, in JS. */
  readonly loop: Map<TapeEntry, ReadonlyArray<Float32Array>>
}

type Method = "ghost" | "direct" | "loop" | "grouped" | "blas"

const chooseMethod = (e: TapeEntry & { kind: "linear" }, T: number, opts: ClipOptions): Method => {
  const B = e.a.shape[0]
  const din = e.a.shape[2]
  const dout = e.g.shape[2]
  const bytes = B * din * dout * 4
  const strategy = opts.strategy ?? "auto"
  if (strategy === "blas" || strategy === "auto") {
    if (nativeBlas() !== undefined) return "blas"
  } else return strategy
  if (bytes > (opts.directMaxBytes ?? 256 * 1024 * 1024)) return "ghost"
  return T * din * dout <= T * T * (din + dout) ? AUTO_DIRECT : "ghost"
}

/** The direct method "auto" picks: per-example 2-D matmuls measured at least as fast as the grouped GEMM on the tiny shape (wasm), and they give the tied head's per-example gradients for the exact cross term in JS. */
const AUTO_DIRECT: "loop" | "grouped" = "loop"

/**
 * ||a_i^T g_i||^2 for all examples by one grouped GEMM: C[i] = A[i] B[i] with group axis i
 * innermost, as a depthwise convolution (input [m, 1, k, B], filter [1, k, B, n]). The
 * orientation puts the smaller of din, dout on the channel-multiplier axis n.
 */
const groupedSquaredNorms = (e: TapeEntry & { kind: "linear" }): tf.Tensor1D =>
  tf.tidy(() => {
    const [B, T, din] = e.a.shape
    const dout = e.g.shape[2]
    const [x, y, m, n] = din >= dout ? [e.a, e.g, din, dout] : [e.g, e.a, dout, din]
    const input = tf.reshape(tf.transpose(x, [2, 1, 0]), [m, 1, T, B]) as tf.Tensor4D
    const filter = tf.reshape(tf.transpose(y, [1, 0, 2]), [1, T, B, n]) as tf.Tensor4D
    const G = tf.reshape(tf.depthwiseConv2d(input, filter, 1, "valid"), [m, B, n])
    return tf.sum(tf.square(G), [0, 2]) as tf.Tensor1D
  })

/**
 * Per-example a_i^T g_i [din, dout] by one 2-D matmul per example (operands uploaded from
 * JS: wasm's slice kernel is slow), returned as JS arrays with their squared norms.
 */
const loopPerExample = (e: TapeEntry & { kind: "linear" }): { grads: Array<Float32Array>; sq: Float32Array } => {
  const [B, T, din] = e.a.shape
  const dout = e.g.shape[2]
  const a = e.a.dataSync() as Float32Array
  const g = e.gData ?? (e.g.dataSync() as Float32Array)
  const grads: Array<Float32Array> = []
  const sq = new Float32Array(B)
  const aT = new Float32Array(din * T)
  for (let i = 0; i < B; i++) {
    for (let t = 0; t < T; t++) for (let k = 0; k < din; k++) aT[k * T + t] = a[(i * T + t) * din + k] as number
    const Gi = tf.tidy(() => tf.matMul(tf.tensor2d(aT, [din, T]), tf.tensor2d(g.subarray(i * T * dout, (i + 1) * T * dout), [T, dout])))
    const copy = Gi.dataSync() as Float32Array // a copy on wasm and cpu: safe after dispose
    Gi.dispose()
    let s2 = 0
    for (let j = 0; j < copy.length; j++) s2 += (copy[j] as number) * (copy[j] as number)
    sq[i] = s2
    grads.push(copy)
  }
  return { grads, sq }
}

/** Per-example G_i for a linear entry: [B, din, dout], or [B, dout, din] when transposed. */
const perExampleLinear = (e: TapeEntry & { kind: "linear" }): tf.Tensor3D =>
  e.transposed ? tf.matMul(e.g, e.a, true, false) : tf.matMul(e.a, e.g, true, false)

/**
 * Computes ||G_i||^2 for every example of the tape (one host sync for the [B] result).
 */
export const perExampleSquaredNorms = (tape: Tape, opts: ClipOptions = {}): NormResult => {
  const direct = new Map<TapeEntry, tf.Tensor3D>()
  const loop = new Map<TapeEntry, ReadonlyArray<Float32Array>>()
  const T = tape.seqLen
  const loopSq = new Map<string, Float32Array>()
  for (const e of tape.entries) {
    if (e.kind === "linear" && chooseMethod(e, T, opts) === "loop") {
      const r = loopPerExample(e)
      loop.set(e, r.grads)
      loopSq.set(e.name, r.sq)
    }
  }
  // Embedding E[x]: per-example gradient rows A_i[v] = sum_{t: x_t = v} g_t, accumulated in
  // JS (O(T d) per example; replaces the [B,T,T] token-equality Gram matrices). With a tied
  // head whose per-example gradients B_i = (gL_i^T uf_i) came from the loop method, the exact
  // cross term 2 <A_i, B_i> is read off B_i at the example's tokens: O(T d) as well.
  const embedJs = new Map<string, Float32Array>()
  let crossDone = false
  for (const e of tape.entries) {
    if (e.kind !== "embedding") continue
    let headGrads: ReadonlyArray<Float32Array> | undefined
    for (const h of tape.entries) if (h.kind === "linear" && h.transposed && h.name === e.name) headGrads = loop.get(h)
    const r = embeddingNormsJs(e, tape.batch, T, headGrads)
    embedJs.set(e.name, r)
    crossDone = headGrads !== undefined
  }
  // Native path: linear layers' norms as OpenBLAS calls on the tape's memory (zero copy);
  // the tied head's pass also adds the exact cross term to the embedding's norms.
  const blas = nativeBlas()
  for (const e of tape.entries) {
    if (e.kind !== "linear" || blas === undefined || chooseMethod(e, T, opts) !== "blas") continue
    const embed = e.transposed ? tape.entries.find((x): x is TapeEntry & { kind: "embedding" } => x.kind === "embedding" && x.name === e.name) : undefined
    const embedSq = embed === undefined ? undefined : embedJs.get(embed.name)
    // heap views are read at once, before tfjs allocates again (embedding rows first: a copy)
    const tied = embed === undefined || embedSq === undefined ? undefined : { tokenIds: embed.tokenIds, g: embed.g.dataSync() as Float32Array }
    const a = tensorHeapView(e.a) ?? (e.a.dataSync() as Float32Array)
    const g = e.gData ?? tensorHeapView(e.g) ?? (e.g.dataSync() as Float32Array)
    const r = linearSquaredNormsBlas(blas, { a, g, B: tape.batch, T, din: e.a.shape[2], dout: e.g.shape[2] }, tied)
    loopSq.set(e.name, r.sq)
    if (r.cross !== undefined && embedSq !== undefined) {
      for (let i = 0; i < embedSq.length; i++) embedSq[i] = (embedSq[i] as number) + (r.cross[i] as number)
      crossDone = true
    }
  }
  const parts = tf.tidy(() => {
    const byName = new Map<string, tf.Tensor1D>()
    const addTo = (name: string, v: tf.Tensor1D) => {
      const prev = byName.get(name)
      byName.set(name, prev === undefined ? v : tf.add(prev, v))
    }
    let embedEntry: (TapeEntry & { kind: "embedding" }) | undefined
    let tiedHead: (TapeEntry & { kind: "linear" }) | undefined
    for (const e of tape.entries) {
      if (e.kind === "linear") {
        const method = chooseMethod(e, T, opts)
        if (method === "loop" || method === "blas") {
          addTo(e.name, tf.tensor1d(loopSq.get(e.name) as Float32Array))
        } else if (method === "grouped") {
          addTo(e.name, groupedSquaredNorms(e))
        } else if (method === "direct") {
          const G = tf.keep(perExampleLinear(e))
          direct.set(e, G)
          addTo(e.name, tf.sum(tf.square(G), [1, 2]))
        } else {
          const aa = tf.matMul(e.a, e.a, false, true)
          const gg = tf.matMul(e.g, e.g, false, true)
          addTo(e.name, tf.sum(tf.mul(aa, gg), [1, 2]))
        }
        if (e.transposed) tiedHead = e
      } else if (e.kind === "scale") {
        addTo(e.name, tf.sum(tf.square(tf.sum(tf.mul(e.xhat, e.g), 1)), 1))
      } else {
        embedEntry = e
        addTo(e.name, tf.tensor1d(embedJs.get(e.name) as Float32Array))
      }
    }
    if (!crossDone && tiedHead !== undefined && embedEntry !== undefined && tiedHead.name === embedEntry.name) {
      // exact cross term 2 <A_i, B_i> = 2 sum_{t,s} (uf_t . g_s) gL[t, x_s]
      const Kts = tf.matMul(tiedHead.a, embedEntry.g, false, true) // [B, T(t), T(s)]
      // Q[b,t,s] = gL[b, t, x[b,s]] by a flat 1-D gather
      const B = tape.batch
      const V = tiedHead.g.shape[2]
      const ids = embedEntry.tokenIds
      const idx = new Int32Array(B * T * T)
      for (let b = 0; b < B; b++)
        for (let t = 0; t < T; t++)
          for (let s = 0; s < T; s++) idx[(b * T + t) * T + s] = (b * T + t) * V + (ids[b * T + s] as number)
      const Qts = tf.reshape(tf.gather(tf.reshape(tiedHead.g, [-1]), tf.tensor1d(idx, "int32")), [B, T, T])
      addTo(embedEntry.name, tf.mul(tf.sum(tf.mul(Kts, Qts), [1, 2]), 2))
    }
    const names = [...byName.keys()]
    const vals = names.map((n) => byName.get(n) as tf.Tensor1D)
    const total = tf.addN(vals)
    return { names, stacked: opts.byParam === true ? tf.stack(vals) : undefined, total }
  })
  const sq = parts.total.dataSync() as Float32Array
  parts.total.dispose()
  let byParam: Map<string, Float32Array> | undefined
  if (parts.stacked !== undefined) {
    const all = parts.stacked.dataSync() as Float32Array
    const B = tape.batch
    byParam = new Map(parts.names.map((n, i) => [n, all.slice(i * B, (i + 1) * B)]))
    parts.stacked.dispose()
  }
  return { sq: new Float32Array(sq), byParam, direct, loop }
}

/**
 * ||A_i||^2 of the embedding's per-example gradients (rows summed by token id, float64),
 * plus 2 <A_i, B_i> when the tied head's per-example gradients `head` ([d, V] row-major,
 * from the loop method) are given.
 */
const embeddingNormsJs = (
  e: TapeEntry & { kind: "embedding" },
  B: number,
  T: number,
  head: ReadonlyArray<Float32Array> | undefined
): Float32Array => {
  const d = e.g.shape[2]
  const g = e.g.dataSync() as Float32Array
  const ids = e.tokenIds
  const out = new Float32Array(B)
  const acc = new Float64Array(T * d)
  const slotTok = new Int32Array(T)
  const slotOf = new Map<number, number>()
  for (let i = 0; i < B; i++) {
    slotOf.clear()
    let slots = 0
    acc.fill(0)
    for (let t = 0; t < T; t++) {
      const tok = ids[i * T + t] as number
      let sl = slotOf.get(tok)
      if (sl === undefined) {
        sl = slots++
        slotOf.set(tok, sl)
        slotTok[sl] = tok
      }
      const src = (i * T + t) * d
      const dst = sl * d
      for (let k = 0; k < d; k++) acc[dst + k] = (acc[dst + k] as number) + (g[src + k] as number)
    }
    let sq = 0
    for (let j = 0; j < slots * d; j++) sq += (acc[j] as number) * (acc[j] as number)
    if (head !== undefined) {
      const G = head[i] as Float32Array
      const V = G.length / d
      let cross = 0
      for (let sl = 0; sl < slots; sl++) {
        const v = slotTok[sl] as number
        for (let k = 0; k < d; k++) cross += (acc[sl * d + k] as number) * (G[k * V + v] as number)
      }
      sq += 2 * cross
    }
    out[i] = sq
  }
  return out
}

/** Clip factors and counts from squared norms (Abadi et al. 2016): c_i = min(1, C/||G_i||), 0 when non-finite. */
export interface ClipFactors {
  readonly c: Float32Array
  readonly norms: Float32Array
  readonly clipped: number
  readonly nonFinite: number
}

export const clipFactors = (sq: Float32Array, clipNorm: number): ClipFactors => {
  const c = new Float32Array(sq.length)
  const norms = new Float32Array(sq.length)
  let clipped = 0
  let nonFinite = 0
  for (let i = 0; i < sq.length; i++) {
    const s = sq[i] as number
    if (!Number.isFinite(s)) {
      nonFinite++
      c[i] = 0
      norms[i] = Number.NaN
      continue
    }
    const n = Math.sqrt(Math.max(0, s))
    norms[i] = n
    if (n > clipNorm) {
      c[i] = clipNorm / n
      clipped++
    } else c[i] = 1
  }
  return { c, norms, clipped, nonFinite }
}

/**
 * sum_i w_i G_i for all parameters, as a flat float64 vector in `paramLayout` order.
 * `w` = clip factors (DP), or null for the plain sum (non-private). Examples with w_i = 0
 * in `zeroed` are removed from every tensor first (non-finite guard).
 */
export const weightedGradientSum = (
  config: ModelConfig,
  tape: Tape,
  w: Float32Array | null,
  direct: ReadonlyMap<TapeEntry, tf.Tensor3D>,
  zeroed: Float32Array | null = null,
  loop: ReadonlyMap<TapeEntry, ReadonlyArray<Float32Array>> = new Map()
): Float64Array => {
  const layout = paramLayout(config)
  const specByName = new Map<string, ParamSpec>(layout.map((s) => [s.name, s]))
  const total = layout.reduce((a, s) => a + s.size, 0)
  const out = new Float64Array(total)
  const B = tape.batch
  const T = tape.seqLen
  // keep mask: 1 for examples to keep, 0 for non-finite ones (only built when needed)
  const clean = <R extends tf.Rank>(t: tf.Tensor<R>): tf.Tensor<R> => {
    if (zeroed === null) return t
    const keepMask = tf.tensor1d(zeroed.map((z) => (z === 0 ? 0 : 1)), "float32")
    const shape = [B, ...t.shape.slice(1).map(() => 1)]
    const cond = tf.greater(tf.reshape(keepMask, shape), 0)
    return tf.where(tf.broadcastTo(cond, t.shape), t, tf.zerosLike(t)) as tf.Tensor<R>
  }
  let embedG: Float32Array | undefined
  let embedTokens: Int32Array | undefined
  const names: Array<string> = []
  const flat = tf.tidy(() => {
    const wt = w === null ? null : tf.tensor1d(w, "float32")
    const perTok = wt === null ? null : tf.reshape(tf.tile(tf.reshape(wt, [B, 1]), [1, T]), [B * T, 1])
    const pieces: Array<tf.Tensor> = []
    const acc = new Map<string, tf.Tensor>()
    const put = (name: string, t: tf.Tensor) => {
      const prev = acc.get(name)
      acc.set(name, prev === undefined ? t : tf.add(prev, t))
    }
    for (const e of tape.entries) {
      if (e.kind === "linear") {
        if (loop.has(e) && wt !== null) continue // summed in JS below
        const G = direct.get(e)
        if (G !== undefined && wt !== null) {
          const Gc = clean(G)
          const [, r, k] = Gc.shape
          put(e.name, tf.reshape(tf.matMul(tf.reshape(wt, [1, B]), tf.reshape(Gc, [B, r * k])), [r, k]))
        } else {
          const din = e.a.shape[2]
          const dout = e.g.shape[2]
          let a2 = tf.reshape(clean(e.a), [B * T, din])
          let g2 = tf.reshape(clean(e.g), [B * T, dout])
          if (perTok !== null) {
            if (din <= dout) a2 = tf.mul(a2, perTok)
            else g2 = tf.mul(g2, perTok)
          }
          if (nativeKernelsActive()) {
            // BLAS takes transposed operands as they are; the tied head's [V, d] is g^T a
            put(e.name, e.transposed ? tf.matMul(g2, a2, true, false) : tf.matMul(a2, g2, true, false))
          } else {
            // a^T g as a non-transposed matmul (wasm fast path); the tied head's [V, d] is its transpose
            const aTg = tf.matMul(tf.transpose(a2), g2)
            put(e.name, e.transposed ? tf.transpose(aTg) : aTg)
          }
        }
      } else if (e.kind === "scale") {
        const v = tf.sum(tf.mul(clean(e.xhat), clean(e.g)), 1) // [B, d]
        put(e.name, wt === null ? tf.sum(v, 0) : tf.reshape(tf.matMul(tf.reshape(wt, [1, B]), v), [-1]))
      } else {
        const g = clean(e.g)
        const gw = wt === null ? g : tf.mul(g, tf.reshape(wt, [B, 1, 1]))
        embedG = gw.dataSync() as Float32Array
        embedTokens = e.tokenIds
      }
    }
    for (const [name, t] of acc) {
      names.push(name)
      pieces.push(tf.reshape(t, [-1]))
    }
    return tf.concat(pieces)
  })
  const data = flat.dataSync() as Float32Array
  flat.dispose()
  let pos = 0
  for (const name of names) {
    const s = specByName.get(name)
    if (s === undefined) throw new Error(`unknown parameter ${name}`)
    for (let j = 0; j < s.size; j++) out[s.offset + j] = data[pos + j] as number
    pos += s.size
  }
  // loop-method entries: sum_i c_i G_i in JS, float64, examples with c_i = 0 skipped
  if (w !== null) {
    for (const [e, grads] of loop) {
      if (e.kind !== "linear") continue
      const s = specByName.get(e.name)
      if (s === undefined) throw new Error(`unknown parameter ${e.name}`)
      const din = e.a.shape[2]
      const dout = e.g.shape[2]
      // accumulate in [din, dout] order (sequential), transpose once for a [V, d] weight
      const acc = e.transposed ? new Float64Array(din * dout) : out.subarray(s.offset, s.offset + s.size)
      for (let i = 0; i < grads.length; i++) {
        const ci = w[i] as number
        if (ci === 0) continue
        const Gi = grads[i] as Float32Array
        for (let j = 0; j < Gi.length; j++) acc[j] = (acc[j] as number) + ci * (Gi[j] as number)
      }
      if (e.transposed) {
        // Gi is [din = d, dout = V]; the weight is stored [V, d]
        for (let k = 0; k < din; k++)
          for (let v = 0; v < dout; v++) {
            const o = s.offset + v * din + k
            out[o] = (out[o] as number) + (acc[k * dout + v] as number)
          }
      }
    }
  }
  if (embedG !== undefined && embedTokens !== undefined) {
    const s = specByName.get("embed")
    if (s === undefined) throw new Error("no embed parameter")
    const d = s.shape[1] as number
    const skip = zeroed
    for (let r = 0; r < embedTokens.length; r++) {
      if (skip !== null && skip[Math.floor(r / T)] === 0) continue
      const row = s.offset + (embedTokens[r] as number) * d
      const src = r * d
      for (let j = 0; j < d; j++) out[row + j] = (out[row + j] as number) + (embedG[src + j] as number)
    }
  }
  return out
}

/** Result of one micro-batch on one tf instance. Everything here is computed from private data without noise. */
export interface MicroBatchResult {
  /** sum_i c_i G_i (DP) or sum_i G_i (non-private), flat float64. */
  readonly sum: Float64Array
  /** Per-example loss [B] (private). */
  readonly losses: Float32Array
  /** Per-example gradient norms [B] before clipping (private; NaN where non-finite; empty in non-private mode). */
  readonly norms: Float32Array
  readonly clipped: number
  readonly nonFinite: number
}

/**
 * The unit of work of DP-SGD on one physical micro-batch: forward, backward, per-example
 * norms, clip factors, book-keeping sum. `clipNorm` null = non-private (plain sum).
 */
export const microBatchGradient = (
  model: GemmaModel,
  weights: ReadonlyMap<string, tf.Tensor>,
  seqs: Int32Array,
  B: number,
  S: number,
  clipNorm: number | null,
  opts: ClipOptions = {}
): MicroBatchResult => {
  const tape = model.forwardBackward(weights, seqs, B, S)
  const direct = new Map<TapeEntry, tf.Tensor3D>()
  try {
    const losses = new Float32Array(tape.losses.dataSync() as Float32Array)
    if (clipNorm === null) {
      // non-private: zero examples whose loss is non-finite (their gradient cannot be trusted)
      let nonFinite = 0
      const keep = new Float32Array(B)
      for (let i = 0; i < B; i++) {
        const ok = Number.isFinite(losses[i] as number)
        keep[i] = ok ? 1 : 0
        if (!ok) nonFinite++
      }
      const sum = weightedGradientSum(model.config, tape, null, direct, nonFinite > 0 ? keep : null)
      return { sum, losses, norms: new Float32Array(0), clipped: 0, nonFinite }
    }
    const nr = perExampleSquaredNorms(tape, opts)
    for (const [k, v] of nr.direct) direct.set(k, v)
    const f = clipFactors(nr.sq, clipNorm)
    const sum = weightedGradientSum(model.config, tape, f.c, direct, f.nonFinite > 0 ? f.c : null, nr.loop)
    return { sum, losses, norms: f.norms, clipped: f.clipped, nonFinite: f.nonFinite }
  } finally {
    for (const t of direct.values()) t.dispose()
    disposeTape(tape)
  }
}
