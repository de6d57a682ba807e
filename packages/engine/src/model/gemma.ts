/**
 * Gemma-style decoder-only transformer on TensorFlow.js, with a hand-written backward pass.
 *
 * Architecture (Gemma Team 2024, "Gemma: Open Models Based on Gemini Research and
 * Technology"; Gemma 2 / VaultGemma 2025 model cards):
 *   h0 = E[x] * sqrt(d_model)                                  (embedding, scaled)
 *   per layer:  h += Attn(RMSNorm(h)),  h += GeGLU(RMSNorm(h))  (pre-norm only)
 *   RMSNorm(x) = x / sqrt(mean(x^2) + eps) * (1 + w)           (Zhang & Sennrich 2019; Gemma's 1+w)
 *   Attn: fused QKV projection, rotary embeddings on q and k (Su et al. 2021, "RoFormer"),
 *         grouped-query attention (Ainslie et al. 2023; kvHeads = 1 is multi-query,
 *         Shazeer 2019), global causal softmax attention, output projection.
 *   GeGLU(x) = (gelu_tanh(x Wg) * (x Wu)) Wd                   (Shazeer 2020, "GLU Variants")
 *   logits = RMSNorm(h) E^T (tied, Gemma's default) or RMSNorm(h) W_out (untied)
 *   loss_i = mean over the T positions of sequence i of cross-entropy(next token)
 * Not modelled: Gemma 2's logit soft-capping, local/sliding attention and post-norms
 * (VaultGemma uses global attention in every layer and pre-norm only).
 *
 * Why a hand-written backward: dp/ needs, for every linear layer, its input a [B,T,d]
 * and its output gradient g [B,T,p] per example (to compute per-example gradient
 * norms and the book-keeping sum; Bu et al. 2023). Writing the backward with tf ops
 * exposes exactly those tensors, computes no weight gradient that is not needed, and
 * avoids tfjs' tape (whose gradient registry is not loadable from the Node bundle).
 * `forwardBackward` therefore returns a *tape* of (a, g) pairs instead of weight
 * gradients; dp/ turns the tape into clipped (or plain) gradient sums.
 * The backward is checked against finite differences in test/engine/model.
 *
 * Parameters live in one flat Float32Array (layout from `paramLayout`), so that
 * optimizer state, checkpoints and worker messages are plain arrays.
 */
import * as tf from "@tensorflow/tfjs-core"
import { createHash } from "node:crypto"
import { Schema } from "effect"
import { keyedStream } from "@dpipe/random/keyed-random"
import { nativeKernelsActive, tensorHeapView } from "@dpipe/engine/native/wasm-kernels"

// ---------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------

const PositiveInt = Schema.Int.check(Schema.isGreaterThan(0))

/** Model shape. `headDim * heads` need not equal `dModel` (Gemma's is larger). */
export const ModelConfig = Schema.Struct({
  vocabSize: PositiveInt,
  /** Maximum sequence length fed to the model (tokens per training sequence minus one). */
  contextLength: PositiveInt,
  dModel: PositiveInt,
  layers: PositiveInt,
  /** Query heads. */
  heads: PositiveInt,
  /** Key/value heads; must divide `heads`. 1 = multi-query attention. */
  kvHeads: PositiveInt,
  headDim: PositiveInt,
  /** GeGLU intermediate width. */
  ffnDim: PositiveInt,
  /** Output projection shares the input embedding (Gemma default). */
  tiedEmbeddings: Schema.Boolean,
  ropeBase: Schema.Finite.check(Schema.isGreaterThan(1)),
  normEps: Schema.Finite.check(Schema.isGreaterThan(0))
})
export type ModelConfig = typeof ModelConfig.Type

/** Decodes and validates a model config (throws on invalid input; also checks head divisibility). */
export const decodeModelConfig = (input: unknown): ModelConfig => {
  const c = Schema.decodeUnknownSync(ModelConfig)(input)
  if (c.heads % c.kvHeads !== 0) throw new RangeError(`heads (${c.heads}) must be a multiple of kvHeads (${c.kvHeads})`)
  if (c.headDim % 2 !== 0) throw new RangeError(`headDim (${c.headDim}) must be even for rotary embeddings`)
  return c
}

const base = { tiedEmbeddings: true, ropeBase: 10000, normEps: 1e-6 } as const

/**
 * Scales. `micro`: unit tests (seconds). `tiny`: the default pipeline, and the first
 * shape of the PyTorch throughput comparison in `bench/train.ts` (vocab 2048, ctx 64, d 64, 2 layers).
 * `small`: the second comparison shape (vocab 4096, ctx 128, d 128, 4 layers).
 * `1b`: VaultGemma 1B's published shape (kvHeads 4 reproduces ~1.04B parameters;
 * pass kvHeads 1 for the multi-query reading).
 */
export const modelPresets = {
  micro: { ...base, vocabSize: 32, contextLength: 12, dModel: 16, layers: 2, heads: 2, kvHeads: 1, headDim: 8, ffnDim: 32 },
  tiny: { ...base, vocabSize: 2048, contextLength: 64, dModel: 64, layers: 2, heads: 4, kvHeads: 4, headDim: 16, ffnDim: 256 },
  small: { ...base, vocabSize: 4096, contextLength: 128, dModel: 128, layers: 4, heads: 4, kvHeads: 4, headDim: 32, ffnDim: 512 },
  "1b": { ...base, vocabSize: 256000, contextLength: 1024, dModel: 1152, layers: 26, heads: 4, kvHeads: 4, headDim: 256, ffnDim: 6912 }
} as const satisfies Record<string, ModelConfig>
export type ModelScale = keyof typeof modelPresets

// ---------------------------------------------------------------------------
// Parameter layout, counts and compute estimates
// ---------------------------------------------------------------------------

/** `embedding`: [V, d]; `matrix`: [in, out] of a linear layer; `scale`: RMSNorm weight [d]. */
export type ParamKind = "embedding" | "matrix" | "scale"

export interface ParamSpec {
  readonly name: string
  readonly kind: ParamKind
  readonly shape: ReadonlyArray<number>
  readonly offset: number
  readonly size: number
}

/** Parameter names and shapes in flat-vector order. */
export const paramLayout = (c: ModelConfig): ReadonlyArray<ParamSpec> => {
  const specs: Array<ParamSpec> = []
  let offset = 0
  const add = (name: string, kind: ParamKind, shape: ReadonlyArray<number>) => {
    const size = shape.reduce((a, b) => a * b, 1)
    specs.push({ name, kind, shape, offset, size })
    offset += size
  }
  const qkvOut = (c.heads + 2 * c.kvHeads) * c.headDim
  add("embed", "embedding", [c.vocabSize, c.dModel])
  for (let l = 0; l < c.layers; l++) {
    add(`layers.${l}.attn_norm`, "scale", [c.dModel])
    add(`layers.${l}.qkv`, "matrix", [c.dModel, qkvOut])
    add(`layers.${l}.o`, "matrix", [c.heads * c.headDim, c.dModel])
    add(`layers.${l}.mlp_norm`, "scale", [c.dModel])
    add(`layers.${l}.gate_up`, "matrix", [c.dModel, 2 * c.ffnDim])
    add(`layers.${l}.down`, "matrix", [c.ffnDim, c.dModel])
  }
  add("final_norm", "scale", [c.dModel])
  if (!c.tiedEmbeddings) add("unembed", "matrix", [c.dModel, c.vocabSize])
  return specs
}

export const paramCount = (c: ModelConfig): number => paramLayout(c).reduce((a, s) => a + s.size, 0)

export interface ComputeEstimate {
  readonly params: number
  /** Parameters excluding the input embedding (the usual "non-embedding" count keeps a tied head). */
  readonly nonEmbeddingParams: number
  /** Forward FLOPs per token: 2 per multiply-add of every matmul, attention at average causal length T/2. */
  readonly forwardFlopsPerToken: number
  /** Training FLOPs per token, 3x forward (forward + two backward matmuls; Kaplan et al. 2020). */
  readonly trainFlopsPerToken: number
}

/** Parameter count and FLOPs per token at context T (default: the config's context). */
export const computeEstimate = (c: ModelConfig, T = c.contextLength): ComputeEstimate => {
  const d = c.dModel
  const perLayerMatmul = d * (c.heads + 2 * c.kvHeads) * c.headDim + c.heads * c.headDim * d + d * 2 * c.ffnDim + c.ffnDim * d
  const head = d * c.vocabSize
  // scores q k^T and P v: 2 matmuls of T/2 average keys, heads * headDim wide.
  const attention = 2 * c.heads * c.headDim * (T / 2)
  const forward = 2 * (c.layers * (perLayerMatmul + attention) + head)
  const params = paramCount(c)
  return {
    params,
    nonEmbeddingParams: params - c.vocabSize * d,
    forwardFlopsPerToken: forward,
    trainFlopsPerToken: 3 * forward
  }
}

/**
 * Deterministic initialisation from a public seed: N(0, 0.02^2) matrices (GPT-2 /
 * Gemma practice), residual-output projections scaled by 1/sqrt(2 layers), embedding
 * N(0, 1/d) so that E[x] * sqrt(d) has unit scale, RMSNorm weights 0 (scale 1 + w = 1).
 */
export const initParams = (c: ModelConfig, seed = 0): Float32Array => {
  const layout = paramLayout(c)
  const total = layout.reduce((a, s) => a + s.size, 0)
  const out = new Float32Array(total)
  const key = new Uint8Array(createHash("sha256").update(`dpipe-init/${seed}`).digest())
  const rng = keyedStream(key, "init", 0)
  for (const s of layout) {
    const view = out.subarray(s.offset, s.offset + s.size)
    if (s.kind === "scale") continue
    let std = 0.02
    if (s.kind === "embedding") std = 1 / Math.sqrt(c.dModel)
    else if (s.name.endsWith(".o") || s.name.endsWith(".down")) std = 0.02 / Math.sqrt(2 * c.layers)
    rng.fillGaussian(view, std)
  }
  return out
}

// ---------------------------------------------------------------------------
// Tensors
// ---------------------------------------------------------------------------

/** Weights as tf tensors, by parameter name. */
export type Weights = ReadonlyMap<string, tf.Tensor>

/**
 * Uploads a flat parameter vector as tensors (caller disposes with `disposeWeights`).
 * Every 2-D weight is also uploaded transposed under `${name}^T`: the wasm backend runs
 * only non-transposed, non-batched matmuls through XNNPACK (~12 GFLOP/s here); a
 * transposed operand falls back to a naive loop (~0.3-1.4 GFLOP/s).
 */
export const uploadWeights = (c: ModelConfig, flat: Float32Array): Weights => {
  const m = new Map<string, tf.Tensor>()
  hostCopy.set(m, flat.slice())
  for (const s of paramLayout(c)) {
    const v = flat.subarray(s.offset, s.offset + s.size)
    m.set(s.name, tf.tensor(v, [...s.shape], "float32"))
    if (s.shape.length === 2) {
      const [r, k] = s.shape as [number, number]
      const t = new Float32Array(s.size)
      for (let i = 0; i < r; i++) for (let j = 0; j < k; j++) t[j * r + i] = v[i * k + j] as number
      m.set(`${s.name}^T`, tf.tensor2d(t, [k, r], "float32"))
      // Fused projections are also uploaded as column blocks (`name#i`): the forward then
      // needs no SplitV (slow on wasm); backward uses the fused transpose.
      const blocks = s.name.endsWith(".qkv")
        ? [c.heads * c.headDim, c.kvHeads * c.headDim, c.kvHeads * c.headDim]
        : s.name.endsWith(".gate_up")
          ? [c.ffnDim, c.ffnDim]
          : []
      let col = 0
      blocks.forEach((width, bi) => {
        const blk = new Float32Array(r * width)
        for (let i = 0; i < r; i++) blk.set(v.subarray(i * k + col, i * k + col + width), i * width)
        m.set(`${s.name}#${bi}`, tf.tensor2d(blk, [r, width], "float32"))
        col += width
      })
    }
  }
  return m
}
/**
 * Host (JS) copies of uploaded weights: row lookups (embedding, target logits) are done in
 * JS, since wasm's GatherV2 costs ~10-20 ms per call at this size.
 */
const hostCopy = new WeakMap<Weights, Float32Array>()

export const disposeWeights = (w: Weights): void => {
  for (const t of w.values()) t.dispose()
}

const get = (w: Weights, name: string): tf.Tensor => {
  const t = w.get(name)
  if (t === undefined) throw new Error(`missing weight ${name}`)
  return t
}

/** Per-sequence-length constants: causal mask, RoPE tables, rotate-half matrix. */
class Constants {
  private readonly byT = new Map<number, { mask: tf.Tensor; cos: tf.Tensor; sin: tf.Tensor }>()
  readonly rot: tf.Tensor2D
  readonly rotT: tf.Tensor2D
  private readonly c: ModelConfig
  constructor(c: ModelConfig) {
    this.c = c
    // rotate_half(x) = [-x2, x1] = x R (Su et al. 2021, in the half-split layout used by Gemma).
    const hd = c.headDim
    const half = hd / 2
    const r = new Float32Array(hd * hd)
    for (let j = 0; j < half; j++) {
      r[(j + half) * hd + j] = -1
      r[j * hd + (j + half)] = 1
    }
    this.rot = tf.keep(tf.tensor2d(r, [hd, hd]))
    this.rotT = tf.keep(tf.transpose(this.rot))
  }
  at(T: number): { mask: tf.Tensor; cos: tf.Tensor; sin: tf.Tensor } {
    const hit = this.byT.get(T)
    if (hit !== undefined) return hit
    const mask = new Float32Array(T * T)
    for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) mask[i * T + j] = -1e9
    const hd = this.c.headDim
    const half = hd / 2
    const cos = new Float32Array(T * hd)
    const sin = new Float32Array(T * hd)
    for (let t = 0; t < T; t++) {
      for (let j = 0; j < half; j++) {
        const theta = t / Math.pow(this.c.ropeBase, (2 * j) / hd)
        cos[t * hd + j] = cos[t * hd + j + half] = Math.cos(theta)
        sin[t * hd + j] = sin[t * hd + j + half] = Math.sin(theta)
      }
    }
    const v = {
      mask: tf.keep(tf.tensor3d(mask, [T, 1, T])), // broadcasts over [G, T(i), B*K, T(j)]
      cos: tf.keep(tf.tensor3d(cos, [T, 1, hd])),
      sin: tf.keep(tf.tensor3d(sin, [T, 1, hd]))
    }
    this.byT.set(T, v)
    return v
  }
  dispose(): void {
    this.rot.dispose()
    this.rotT.dispose()
    for (const v of this.byT.values()) {
      v.mask.dispose()
      v.cos.dispose()
      v.sin.dispose()
    }
    this.byT.clear()
  }
}

/**
 * One parameter's contribution to the per-example gradients, as the tensors that
 * determine it (all with a leading example axis B):
 * - `linear`: weight W [din, dout] used as y = a W; G_i = a_i^T g_i.
 *   `transposed`: the weight is stored [dout, din] (tied output embedding, y = a E^T), G_i = g_i^T a_i.
 * - `scale`: RMSNorm weight w in y = xhat (1 + w); G_i = sum_t xhat_it * g_it.
 * - `embedding`: E [V, d] looked up by `tokens`; G_i = sum_t onehot(x_it)^T g_it.
 */
export type TapeEntry =
  | {
      readonly kind: "linear"
      readonly name: string
      readonly a: tf.Tensor3D
      readonly g: tf.Tensor3D
      readonly transposed: boolean
      /** `g`'s values, when they are already in JS (the loss head's logit gradient). */
      readonly gData?: Float32Array
    }
  | { readonly kind: "scale"; readonly name: string; readonly xhat: tf.Tensor3D; readonly g: tf.Tensor3D }
  | { readonly kind: "embedding"; readonly name: string; readonly tokens: tf.Tensor2D; readonly tokenIds: Int32Array; readonly g: tf.Tensor3D }

export interface Tape {
  readonly entries: ReadonlyArray<TapeEntry>
  /** Per-example loss (mean token cross-entropy), [B]. */
  readonly losses: tf.Tensor1D
  readonly batch: number
  readonly seqLen: number
}

export const disposeTape = (tape: Tape): void => {
  const seen = new Set<tf.Tensor>()
  const drop = (t: tf.Tensor) => {
    if (!seen.has(t)) {
      seen.add(t)
      t.dispose()
    }
  }
  for (const e of tape.entries) {
    drop(e.g)
    if (e.kind === "linear") drop(e.a)
    else if (e.kind === "scale") drop(e.xhat)
    else drop(e.tokens)
  }
  drop(tape.losses)
}

const GELU_C = Math.sqrt(2 / Math.PI)
const GELU_A = 0.044715

/**
 * The model as tf computations for one config: forward loss and forward + manual backward.
 * Holds small cached constants (dispose when done).
 */
export class GemmaModel {
  readonly config: ModelConfig
  readonly layout: ReadonlyArray<ParamSpec>
  private readonly consts: Constants
  constructor(config: ModelConfig) {
    this.config = config
    this.layout = paramLayout(config)
    this.consts = new Constants(config)
  }
  dispose(): void {
    this.consts.dispose()
  }

  /**
   * Per-token loss (forward only): -log p(x[b, t+1] | x[b, 0..t]) for every target
   * position, [B * (S-1)] row-major (`losses()` is each row's mean). For evaluation
   * and log-perplexities that must skip padding or score only some tokens.
   * Causal: right padding after a token does not change that token's loss.
   */
  tokenLosses(w: Weights, seqs: Int32Array, B: number, S: number): Float32Array {
    const T = S - 1
    const c = this.config
    if (T < 1 || T > c.contextLength) throw new RangeError(`sequence length ${S} must be in [2, ${c.contextLength + 1}]`)
    if (seqs.length !== B * S) throw new RangeError(`expected ${B * S} tokens, got ${seqs.length}`)
    const { inputs, targets } = splitInputsTargets(seqs, B, S)
    const t = tf.tidy(() => {
      const fw = this.forward(w, tf.tensor2d(inputs, [B, T], "int32"), B, T)
      const logits = c.tiedEmbeddings ? tf.matMul(fw.uf2d, get(w, "embed^T")) : tf.matMul(fw.uf2d, get(w, "unembed"))
      const n = B * T
      const shifted = tf.sub(logits, tf.max(logits, 1, true))
      const lse = tf.reshape(tf.log(tf.sum(tf.exp(shifted), 1)), [n])
      const flatIdx = new Int32Array(n)
      for (let r = 0; r < n; r++) flatIdx[r] = r * c.vocabSize + (targets[r] as number)
      return tf.sub(lse, tf.gather(tf.reshape(shifted, [-1]), tf.tensor1d(flatIdx, "int32")))
    })
    const out = t.dataSync() as Float32Array
    t.dispose()
    return out
  }

  /**
   * Next-token logits (forward only): for row b of `inputs` ([B, T] int32, T <=
   * contextLength), the logits of the token after position `positions[b]` (default
   * T-1), [B * V] row-major. Causal: tokens after positions[b] (right padding) do not
   * change the result, so prompts of different lengths can share a batch.
   */
  nextTokenLogits(w: Weights, inputs: Int32Array, B: number, T: number, positions?: Int32Array): Float32Array {
    const c = this.config
    const d = c.dModel
    if (T < 1 || T > c.contextLength) throw new RangeError(`input length ${T} must be in [1, ${c.contextLength}]`)
    if (inputs.length !== B * T) throw new RangeError(`expected ${B * T} tokens, got ${inputs.length}`)
    if (positions !== undefined && positions.length !== B) throw new RangeError(`expected ${B} positions, got ${positions.length}`)
    const t = tf.tidy(() => {
      const fw = this.forward(w, tf.tensor2d(inputs, [B, T], "int32"), B, T)
      const u = fw.uf2d.dataSync() as Float32Array
      const rows = new Float32Array(B * d)
      for (let b = 0; b < B; b++) {
        const p = positions === undefined ? T - 1 : (positions[b] as number)
        if (!(p >= 0 && p < T)) throw new RangeError(`position ${p} of row ${b} is outside [0, ${T - 1}]`)
        rows.set(u.subarray((b * T + p) * d, (b * T + p + 1) * d), b * d)
      }
      const sel = tf.tensor2d(rows, [B, d], "float32")
      return c.tiedEmbeddings ? tf.matMul(sel, get(w, "embed^T")) : tf.matMul(sel, get(w, "unembed"))
    })
    const out = t.dataSync() as Float32Array
    t.dispose()
    return out
  }

  /**
   * Forward pass and hand-written backward of sum_i loss_i for sequences `seqs`
   * ([B, S] int32, S <= contextLength + 1: inputs are positions 0..S-2, targets 1..S-1).
   * Returns the tape (caller must `disposeTape`).
   */
  forwardBackward(w: Weights, seqs: Int32Array, B: number, S: number): Tape {
    const T = S - 1
    const c = this.config
    if (T < 1 || T > c.contextLength) throw new RangeError(`sequence length ${S} must be in [2, ${c.contextLength + 1}]`)
    if (seqs.length !== B * S) throw new RangeError(`expected ${B * S} tokens, got ${seqs.length}`)
    const { inputs, targets } = splitInputsTargets(seqs, B, S)
    // JS arrays are attached after tf.tidy (tidy walks its result, typed arrays element by element)
    let headG: Float32Array | undefined
    const tape = tf.tidy(() => {
      const x = tf.tensor2d(inputs, [B, T], "int32")
      const fw = this.forward(w, x, B, T)
      const entries: Array<TapeEntry> = []
      const d = c.dModel
      const E = get(w, "embed")
      const V = c.vocabSize

      // ---- loss head: losses_i = mean_t (lse - logit[target]); dlogits = (softmax - onehot)/T
      const logits2d = c.tiedEmbeddings ? tf.matMul(fw.uf2d, get(w, "embed^T")) : tf.matMul(fw.uf2d, get(w, "unembed"))
      // On the native path the loss and dlogits = (softmax - onehot) / T are computed in one
      // pass per row over the logits' heap memory (a fresh tensor of this step), in place:
      // no [B*T, V] intermediates and no download or upload of them.
      const fused = nativeKernelsActive() ? tensorHeapView(logits2d) : undefined
      let gLogits: tf.Tensor2D
      let losses: tf.Tensor
      if (fused !== undefined) {
        const l = softmaxCrossEntropyInPlace(fused, targets, V, 1 / T)
        gLogits = logits2d as tf.Tensor2D
        losses = tf.tensor1d(l, "float32")
      } else {
        const ce = crossEntropy(logits2d, targets, V, this.targetLogits(w, fw.uf2d, targets), T)
        losses = ce.losses
        const probs = ce.probs
        // dlogits = softmax / T - onehot / T: the one-hot part is 4096 scalar updates, done in JS
        // on the downloaded probabilities (replaces OneHot, Cast, Sub, Mul over [B*T, V]); the
        // values stay in JS for the per-example head gradients.
        const gData = new Float32Array(probs.dataSync() as Float32Array)
        for (let r = 0; r < targets.length; r++) {
          const o = r * V + (targets[r] as number)
          gData[o] = (gData[o] as number) - 1 / T
        }
        headG = gData
        gLogits = tf.tensor2d(gData, [B * T, V], "float32")
      }
      const uf3 = tf.reshape(fw.uf2d, [B, T, d]) as tf.Tensor3D
      const gLogits3 = tf.reshape(gLogits, [B, T, V]) as tf.Tensor3D
      entries.push({ kind: "linear", name: c.tiedEmbeddings ? "embed" : "unembed", a: uf3, g: gLogits3, transposed: c.tiedEmbeddings })
      const duf = c.tiedEmbeddings ? tf.matMul(gLogits, E) : tf.matMul(gLogits, get(w, "unembed^T"))
      let dh = this.rmsNormBackward(entries, "final_norm", w, fw.final, duf, B, T)

      // ---- layers in reverse
      for (let l = c.layers - 1; l >= 0; l--) {
        const L = fw.layers[l]
        if (L === undefined) throw new Error("unreachable")
        dh = this.mlpBackward(entries, l, w, L, dh, B, T)
        dh = this.attnBackward(entries, l, w, L, dh, B, T)
      }
      // ---- embedding: h0 = E[x] * sqrt(d)
      const gEmb = tf.reshape(tf.mul(dh, Math.sqrt(d)), [B, T, d]) as tf.Tensor3D
      entries.push({ kind: "embedding", name: "embed", tokens: x, tokenIds: inputs, g: gEmb })
      return { entries, losses: tf.mean(tf.reshape(losses, [B, T]), 1) as tf.Tensor1D, batch: B, seqLen: T }
    })
    const head = tape.entries[0]
    if (head === undefined || head.kind !== "linear") throw new Error("unreachable: the loss head is the first tape entry")
    return headG === undefined ? tape : { ...tape, entries: [{ ...head, gData: headG }, ...tape.entries.slice(1)] }
  }

  /** Per-example mean token loss (forward only), [B] as a Float32Array. */
  losses(w: Weights, seqs: Int32Array, B: number, S: number): Float32Array {
    const T = S - 1
    const { inputs, targets } = splitInputsTargets(seqs, B, S)
    const t = tf.tidy(() => {
      const x = tf.tensor2d(inputs, [B, T], "int32")
      const fw = this.forward(w, x, B, T)
      const c = this.config
      const logits2d = c.tiedEmbeddings ? tf.matMul(fw.uf2d, get(w, "embed^T")) : tf.matMul(fw.uf2d, get(w, "unembed"))
      return tf.mean(tf.reshape(crossEntropy(logits2d, targets, c.vocabSize, this.targetLogits(w, fw.uf2d, targets), 1).losses, [B, T]), 1)
    })
    const out = t.dataSync() as Float32Array
    t.dispose()
    return out
  }

  /** Logits at the targets, uf_r . W[:, y_r], computed in JS from host weights (undefined without them). */
  private targetLogits(w: Weights, uf2d: tf.Tensor2D, targets: Int32Array): Float32Array | undefined {
    const host = hostCopy.get(w)
    if (host === undefined) return undefined
    const c = this.config
    const d = c.dModel
    const V = c.vocabSize
    const u = uf2d.dataSync() as Float32Array
    const out = new Float32Array(targets.length)
    const un = c.tiedEmbeddings ? undefined : this.layout.find((s) => s.name === "unembed")
    const e0 = this.layout.find((s) => s.name === "embed")?.offset ?? 0
    for (let r = 0; r < targets.length; r++) {
      const y = targets[r] as number
      let acc = 0
      if (un === undefined) {
        for (let k = 0; k < d; k++) acc += (u[r * d + k] as number) * (host[e0 + y * d + k] as number)
      } else {
        for (let k = 0; k < d; k++) acc += (u[r * d + k] as number) * (host[un.offset + k * V + y] as number)
      }
      out[r] = acc
    }
    return out
  }

  // ---- forward with caches ------------------------------------------------
  private forward(w: Weights, x: tf.Tensor2D, B: number, T: number) {
    const c = this.config
    const d = c.dModel
    const BT = B * T
    const host = hostCopy.get(w)
    let h: tf.Tensor2D
    if (host !== undefined) {
      // E[x] * sqrt(d) gathered in JS
      const ids = x.dataSync() as Int32Array
      const rows = new Float32Array(BT * d)
      const sc = Math.sqrt(d)
      const e0 = this.layout.find((p) => p.name === "embed")?.offset ?? 0
      for (let r = 0; r < BT; r++) {
        const src = e0 + (ids[r] as number) * d
        for (let k = 0; k < d; k++) rows[r * d + k] = (host[src + k] as number) * sc
      }
      h = tf.tensor2d(rows, [BT, d], "float32")
    } else h = tf.mul(tf.gather(get(w, "embed"), tf.reshape(x, [BT])), Math.sqrt(d))
    const layers: Array<LayerCache> = []
    const { mask, cos, sin } = this.consts.at(T)
    const H = c.heads
    const K = c.kvHeads
    const G = H / K
    const hd = c.headDim
    for (let l = 0; l < c.layers; l++) {
      const n1 = this.rmsNorm(w, `layers.${l}.attn_norm`, h)
      // fused QKV projection, computed per column block (no SplitV)
      const q = tf.matMul(n1.u, get(w, `layers.${l}.qkv#0`)) as tf.Tensor2D // [BT, H hd]
      const k = tf.matMul(n1.u, get(w, `layers.${l}.qkv#1`)) as tf.Tensor2D // [BT, K hd]
      const v = tf.matMul(n1.u, get(w, `layers.${l}.qkv#2`)) // [BT, K hd]
      // RoPE: x cos + rotate_half(x) sin, rotate_half(x) = x R
      const rope = (x: tf.Tensor2D, heads: number) =>
        tf.add(tf.mul(tf.reshape(x, [B, T, heads, hd]), cos), tf.mul(tf.reshape(tf.matMul(tf.reshape(x, [-1, hd]), this.consts.rot), [B, T, heads, hd]), sin))
      const q4 = rope(q, H)
      const k4 = rope(k, K)
      const batched = nativeKernelsActive()
      let q5: tf.Tensor
      let k4b: tf.Tensor
      let v4: tf.Tensor
      let P: tf.Tensor
      let o2d: tf.Tensor2D
      if (batched) {
        // BLAS kernels: attention products as batched matmuls over c = (b, kv head), the G
        // query heads of a group and the T positions forming the rows (g, i):
        // Q [c, (g,i), e], K and V [c, j, e], P [c, (g,i), j].
        q5 = tf.reshape(tf.transpose(tf.reshape(q4 as tf.Tensor, [B, T, K, G, hd]), [0, 2, 3, 1, 4]), [B * K, G * T, hd])
        k4b = tf.reshape(tf.transpose(k4 as tf.Tensor, [0, 2, 1, 3]), [B * K, T, hd])
        v4 = tf.reshape(tf.transpose(tf.reshape(v, [B, T, K, hd]), [0, 2, 1, 3]), [B * K, T, hd])
        const S = tf.matMul(q5, k4b, false, true) // [c, (g,i), j]
        const scores = tf.add(tf.mul(tf.reshape(S, [B * K * G, T, T]), 1 / Math.sqrt(hd)), tf.reshape(mask, [T, T]))
        P = tf.reshape(tf.softmax(scores), [B * K, G * T, T])
        const og = tf.matMul(P, v4) // [c, (g,i), e]
        o2d = tf.reshape(tf.transpose(tf.reshape(og, [B, K, G, T, hd]), [0, 3, 1, 2, 4]), [BT, H * hd]) as tf.Tensor2D
      } else {
        // Attention products as grouped matmuls (`groupedMatMul`: XNNPACK via depthwise conv),
        // group axis c = (b, kv head) kept innermost; the G query heads of a group and the T
        // positions form the row axis (g, i).
        q5 = tf.reshape(q4 as tf.Tensor, [B, T, K, G, hd])
        k4b = k4 as tf.Tensor
        v4 = tf.reshape(v, [B, T, K, hd])
        const S = groupedMatMul(tf.transpose(q5, [3, 1, 4, 0, 2]), tf.transpose(k4b, [3, 0, 2, 1]), G * T, hd, B * K, T) // [(g,i), c, j]
        const scores = tf.add(tf.mul(tf.reshape(S, [G, T, B * K, T]), 1 / Math.sqrt(hd)), mask)
        P = tf.softmax(scores) as tf.Tensor4D // [G, T(i), BK, T(j)]
        const og = groupedMatMul(tf.transpose(P, [0, 1, 3, 2]), tf.transpose(v4, [1, 0, 2, 3]), G * T, T, B * K, hd) // [(g,i), c, e]
        o2d = tf.reshape(tf.transpose(tf.reshape(og, [G, T, B, K, hd]), [2, 1, 3, 0, 4]), [BT, H * hd]) as tf.Tensor2D
      }
      h = tf.add(h, tf.matMul(o2d, get(w, `layers.${l}.o`)))
      const n2 = this.rmsNorm(w, `layers.${l}.mlp_norm`, h)
      const gate = tf.matMul(n2.u, get(w, `layers.${l}.gate_up#0`)) as tf.Tensor2D
      const up = tf.matMul(n2.u, get(w, `layers.${l}.gate_up#1`)) as tf.Tensor2D
      // gelu_tanh via sigmoid: s = sigmoid(gate (2c + 2ca gate^2))
      const s = tf.sigmoid(tf.mul(gate, tf.add(tf.mul(tf.square(gate), 2 * GELU_C * GELU_A), 2 * GELU_C)))
      const act = tf.mul(gate, s) // gelu_tanh(x) = x * sigmoid(2c (x + a x^3))
      const m = tf.mul(act, up)
      h = tf.add(h, tf.matMul(m, get(w, `layers.${l}.down`)))
      layers.push({ batched, n1, q5, k4: k4b, v4, P, o2d, n2, gate, up, s, act, m })
    }
    const final = this.rmsNorm(w, "final_norm", h)
    return { layers, final, uf2d: final.u }
  }

  private rmsNorm(w: Weights, name: string, h: tf.Tensor2D): NormCache {
    const r = tf.rsqrt(tf.add(tf.mean(tf.square(h), 1, true), this.config.normEps))
    const xhat = tf.mul(h, r) as tf.Tensor2D
    const scale = tf.add(get(w, name), 1)
    return { r, xhat, scale, u: tf.mul(xhat, scale) }
  }

  /** y = xhat (1 + w), xhat = x r: dx = r (dxhat - xhat mean(dxhat xhat)). Records the scale's tape entry. */
  private rmsNormBackward(entries: Array<TapeEntry>, name: string, _w: Weights, n: NormCache, du: tf.Tensor, B: number, T: number): tf.Tensor2D {
    const d = this.config.dModel
    entries.push({ kind: "scale", name, xhat: tf.reshape(n.xhat, [B, T, d]), g: tf.reshape(du, [B, T, d]) })
    const dxhat = tf.mul(du, n.scale)
    return tf.mul(n.r, tf.sub(dxhat, tf.mul(n.xhat, tf.mean(tf.mul(dxhat, n.xhat), 1, true)))) as tf.Tensor2D
  }

  private mlpBackward(entries: Array<TapeEntry>, l: number, w: Weights, L: LayerCache, dh: tf.Tensor2D, B: number, T: number): tf.Tensor2D {
    const c = this.config
    const d = c.dModel
    const f = c.ffnDim
    entries.push({ kind: "linear", name: `layers.${l}.down`, a: tf.reshape(L.m, [B, T, f]), g: tf.reshape(dh, [B, T, d]), transposed: false })
    const dm = tf.matMul(dh, get(w, `layers.${l}.down^T`))
    const dact = tf.mul(dm, L.up)
    const dup = tf.mul(dm, L.act)
    // gelu'(x) = s + x s (1 - s) 2c (1 + 3a x^2) = s (1 + x (1 - s) (2c + 6ca x^2)), s = sigmoid(2c (x + a x^3))
    const x2 = tf.square(L.gate)
    const dgelu = tf.mul(tf.add(tf.mul(tf.mul(tf.add(tf.mul(x2, 6 * GELU_C * GELU_A), 2 * GELU_C), tf.sub(1, L.s)), L.gate), 1), L.s)
    const dgate = tf.mul(dact, dgelu)
    const ggu = tf.concat([dgate, dup], 1) as tf.Tensor2D
    entries.push({ kind: "linear", name: `layers.${l}.gate_up`, a: tf.reshape(L.n2.u, [B, T, d]), g: tf.reshape(ggu, [B, T, 2 * f]), transposed: false })
    const du = tf.matMul(ggu, get(w, `layers.${l}.gate_up^T`))
    return tf.add(dh, this.rmsNormBackward(entries, `layers.${l}.mlp_norm`, w, L.n2, du, B, T)) as tf.Tensor2D
  }

  private attnBackward(entries: Array<TapeEntry>, l: number, w: Weights, L: LayerCache, dh: tf.Tensor2D, B: number, T: number): tf.Tensor2D {
    const c = this.config
    const d = c.dModel
    const H = c.heads
    const K = c.kvHeads
    const G = H / K
    const hd = c.headDim
    const { cos, sin } = this.consts.at(T)
    entries.push({ kind: "linear", name: `layers.${l}.o`, a: tf.reshape(L.o2d, [B, T, H * hd]), g: tf.reshape(dh, [B, T, d]), transposed: false })
    const do2d = tf.matMul(dh, get(w, `layers.${l}.o^T`)) // [BT, H hd]
    const BK = B * K
    const dO5 = tf.reshape(do2d, [B, T, K, G, hd])
    // dP = dO V^T, dV = P^T dO, dS = P (dP - rowsum(P dP)) / sqrt(hd), dQ = dS K, dK = dS^T Q
    let dq4: tf.Tensor // [B,T,K,G,hd]
    let dk4: tf.Tensor // [B,T,K,hd]
    let dv: tf.Tensor // [B,T,K,hd]
    if (L.batched) {
      const dOh = tf.reshape(tf.transpose(dO5, [0, 2, 3, 1, 4]), [BK, G * T, hd]) // [c, (g,i), e]
      const dP = tf.matMul(dOh, L.v4, false, true) // [c, (g,i), j]
      const dS = tf.mul(tf.mul(L.P, tf.sub(dP, tf.sum(tf.mul(dP, L.P), 2, true))), 1 / Math.sqrt(hd))
      const dV = tf.matMul(L.P, dOh, true, false) // [c, j, e]
      const dQ = tf.matMul(dS, L.k4) // [c, (g,i), e]
      const dK = tf.matMul(dS, L.q5, true, false) // [c, j, e]
      dq4 = tf.transpose(tf.reshape(dQ, [B, K, G, T, hd]), [0, 3, 1, 2, 4])
      dk4 = tf.transpose(tf.reshape(dK, [B, K, T, hd]), [0, 2, 1, 3])
      dv = tf.transpose(tf.reshape(dV, [B, K, T, hd]), [0, 2, 1, 3])
    } else {
      const dP = tf.reshape(groupedMatMul(tf.transpose(dO5, [3, 1, 4, 0, 2]), tf.transpose(L.v4, [3, 0, 2, 1]), G * T, hd, BK, T), [G, T, BK, T])
      const dS = tf.mul(tf.mul(L.P, tf.sub(dP, tf.sum(tf.mul(dP, L.P), 3, true))), 1 / Math.sqrt(hd))
      const dvT = groupedMatMul(tf.transpose(L.P, [3, 0, 1, 2]), tf.transpose(dO5, [3, 1, 0, 2, 4]), T, G * T, BK, hd) // [j, c, e]
      const dqg = groupedMatMul(tf.transpose(dS, [0, 1, 3, 2]), tf.transpose(L.k4, [1, 0, 2, 3]), G * T, T, BK, hd) // [(g,i), c, e]
      const dkT = groupedMatMul(tf.transpose(dS, [3, 0, 1, 2]), tf.transpose(L.q5, [3, 1, 0, 2, 4]), T, G * T, BK, hd) // [j, c, e]
      dq4 = tf.transpose(tf.reshape(dqg, [G, T, B, K, hd]), [2, 1, 3, 0, 4])
      dk4 = tf.transpose(tf.reshape(dkT, [T, B, K, hd]), [1, 0, 2, 3])
      dv = tf.transpose(tf.reshape(dvT, [T, B, K, hd]), [1, 0, 2, 3])
    }
    const dqkRot = tf.concat([tf.reshape(dq4, [B, T, H, hd]), dk4], 2)
    // inverse of x cos + (x R) sin: dx = d cos + (d sin) R^T
    const dqk = tf.add(tf.mul(dqkRot, cos), tf.reshape(tf.matMul(tf.reshape(tf.mul(dqkRot, sin), [-1, hd]), this.consts.rotT), [B, T, H + K, hd]))
    const gqkv = tf.concat([tf.reshape(dqk, [B, T, (H + K) * hd]), tf.reshape(dv, [B, T, K * hd])], 2) as tf.Tensor3D
    entries.push({ kind: "linear", name: `layers.${l}.qkv`, a: tf.reshape(L.n1.u, [B, T, d]), g: gqkv, transposed: false })
    const du = tf.matMul(tf.reshape(gqkv, [B * T, (H + 2 * K) * hd]), get(w, `layers.${l}.qkv^T`))
    return tf.add(dh, this.rmsNormBackward(entries, `layers.${l}.attn_norm`, w, L.n1, du, B, T)) as tf.Tensor2D
  }
}

interface NormCache {
  readonly r: tf.Tensor
  readonly xhat: tf.Tensor2D
  readonly scale: tf.Tensor
  readonly u: tf.Tensor2D
}
interface LayerCache {
  /** Attention in the batched-matmul layout (BLAS kernels) rather than the grouped one (stock wasm). */
  readonly batched: boolean
  readonly n1: NormCache
  /**
   * Rotated queries [B, T, K, G, hd], rotated keys and values [B, T, K, hd]; batched:
   * queries [B*K, G*T, hd], keys and values [B*K, T, hd].
   */
  readonly q5: tf.Tensor
  readonly k4: tf.Tensor
  readonly v4: tf.Tensor
  /** Attention probabilities [G, T(i), B*K, T(j)]; batched: [B*K, G*T(i), T(j)]. */
  readonly P: tf.Tensor
  readonly o2d: tf.Tensor2D
  readonly n2: NormCache
  readonly gate: tf.Tensor2D
  readonly up: tf.Tensor2D
  readonly s: tf.Tensor
  readonly act: tf.Tensor
  readonly m: tf.Tensor
}

/**
 * Row-wise cross-entropy and its logit gradient in one pass per row, in place (the native
 * path): for row r with logits x, loss_r = log sum_j exp(x_j - max) - (x_target - max) and x
 * is overwritten with scale * (softmax(x) - onehot(target)). Sums in float64. A non-finite
 * logit makes its row's loss and gradient NaN (the non-finite guard of dp/clip.ts drops it).
 */
const softmaxCrossEntropyInPlace = (x: Float32Array, targets: Int32Array, V: number, scale: number): Float32Array => {
  const n = targets.length
  const losses = new Float32Array(n)
  for (let r = 0; r < n; r++) {
    const off = r * V
    const t = off + (targets[r] as number)
    let mx = -Infinity
    for (let j = off; j < off + V; j++) mx = Math.max(mx, x[j] as number)
    const xt = x[t] as number
    let sum = 0
    for (let j = off; j < off + V; j++) {
      const e = Math.exp((x[j] as number) - mx)
      x[j] = e
      sum += e
    }
    losses[r] = Math.log(sum) - (xt - mx)
    const k = scale / sum
    for (let j = off; j < off + V; j++) x[j] = (x[j] as number) * k
    x[t] = (x[t] as number) - scale
  }
  return losses
}

/**
 * Row-wise cross-entropy with integer targets: losses [BT] and softmax probabilities / `probScale`
 * [BT, V]. `targetLogits` (the raw logits at the targets, from JS) avoids a gather over [BT * V].
 */
const crossEntropy = (logits: tf.Tensor, targets: Int32Array, V: number, targetLogits: Float32Array | undefined, probScale: number) => {
  const n = targets.length
  const mx = tf.max(logits, 1, true)
  const shifted = tf.sub(logits, mx)
  const e = tf.exp(shifted)
  const se = tf.sum(e, 1, true)
  const probs = tf.div(e, probScale === 1 ? se : tf.mul(se, probScale))
  if (targetLogits !== undefined) {
    const tl = tf.sub(tf.tensor1d(targetLogits, "float32"), tf.reshape(mx, [n]))
    return { losses: tf.sub(tf.reshape(tf.log(se), [n]), tl), probs }
  }
  // target logits by a flat 1-D gather (wasm's batched gather is unreliable)
  const flatIdx = new Int32Array(n)
  for (let r = 0; r < n; r++) flatIdx[r] = r * V + (targets[r] as number)
  const tl = tf.gather(tf.reshape(shifted, [-1]), tf.tensor1d(flatIdx, "int32"))
  const losses = tf.sub(tf.reshape(tf.log(se), [n]), tl)
  return { losses, probs }
}

/**
 * Batched matmul C[c] = A[c] B[c] over a group axis c, computed as one depthwise
 * convolution: `a` holds A as [m, k, c] (group axis last), `b` holds B as [k, c, n];
 * the result is [m, c, n]. On wasm, BatchMatMul with a batch dimension runs a naive loop
 * (~0.5-1.3 GFLOP/s here) while DepthwiseConv2dNative with channel multiplier n is an
 * XNNPACK grouped GEMM (3-4x faster on the attention shapes, same values).
 */
const groupedMatMul = (a: tf.Tensor, b: tf.Tensor, m: number, k: number, c: number, n: number): tf.Tensor3D =>
  tf.reshape(tf.depthwiseConv2d(tf.reshape(a, [m, 1, k, c]) as tf.Tensor4D, tf.reshape(b, [1, k, c, n]) as tf.Tensor4D, 1, "valid"), [m, c, n]) as tf.Tensor3D

/** Splits [B, S] sequences into inputs [B, S-1] and flat targets [B*(S-1)]. */
const splitInputsTargets = (seqs: Int32Array, B: number, S: number) => {
  const T = S - 1
  const inputs = new Int32Array(B * T)
  const targets = new Int32Array(B * T)
  for (let b = 0; b < B; b++) {
    inputs.set(seqs.subarray(b * S, b * S + T), b * T)
    targets.set(seqs.subarray(b * S + 1, b * S + S), b * T)
  }
  return { inputs, targets }
}
