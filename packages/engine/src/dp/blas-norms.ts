/**
 * Per-example gradient norms of linear layers as OpenBLAS calls on the tape's memory
 * (the native path of dp/clip.ts; zero copy: the activations and output gradients are
 * read where tfjs keeps them, in the wasm heap).
 *
 * For a linear layer y = a W with per-example gradient G_i = a_i^T g_i (Goodfellow 2015,
 * "Efficient Per-Example Gradient Computations"), example by example:
 * - direct: G_i [din, dout] by one sgemm into a scratch buffer, ||G_i||^2 by one sdot;
 *   cost 2 T din dout;
 * - ghost: ||G_i||^2 = sum_{s,t} (a_i a_i^T)[s,t] (g_i g_i^T)[s,t] (Li et al. 2022, "Large
 *   Language Models Can Be Strong Differentially Private Learners"): two T x T Gram
 *   matrices by sgemm, one sdot; cost 2 T^2 (din + dout);
 * the cheaper one is used. Nothing of size [B, din, dout] is kept: the clipped sum is the
 * book-keeping product a^T (c g) (Bu et al. 2023), one matmul on the BLAS kernels.
 *
 * Tied embeddings: with the direct method on the output head (G_i = uf_i^T gL_i, [d, V]),
 * the exact cross term 2 <A_i, B_i> with the lookup's per-example gradient A_i (rows
 * summed by token id) is read off G_i at the example's tokens while G_i is in the scratch
 * buffer: O(T d) per example instead of O(T^2 d) (dp/clip.ts explains the tied norm).
 */
import type { OpenBlas } from "@dpipe/engine/native/openblas"

/** One linear tape entry's memory: a [B, T, din] and g [B, T, dout], row-major. */
export interface LinearOperands {
  readonly a: Float32Array
  readonly g: Float32Array
  readonly B: number
  readonly T: number
  readonly din: number
  readonly dout: number
}

/** The input lookup of a tied embedding: token ids [B*T] and its output gradient rows [B*T, d]. */
export interface TiedLookup {
  readonly tokenIds: Int32Array
  readonly g: Float32Array
}

/** Whether the direct method is cheaper than the ghost norm for this shape (flop count). */
export const directIsCheaper = (T: number, din: number, dout: number): boolean => T * din * dout <= T * T * (din + dout)

/**
 * ||G_i||^2 for every example; with `tied` (the head of a tied embedding, direct method
 * forced), also the cross term 2 <A_i, B_i> per example (float64 sums of the slots).
 */
export const linearSquaredNormsBlas = (
  blas: OpenBlas,
  op: LinearOperands,
  tied?: TiedLookup
): { readonly sq: Float32Array; readonly cross: Float64Array | undefined } => {
  const { a, g, B, T, din, dout } = op
  const sq = new Float32Array(B)
  const direct = tied !== undefined || directIsCheaper(T, din, dout)
  if (!direct) {
    const aa = new Float32Array(T * T)
    const gg = new Float32Array(T * T)
    for (let i = 0; i < B; i++) {
      const ai = a.subarray(i * T * din)
      const gi = g.subarray(i * T * dout)
      blas.sgemm(false, true, T, T, din, 1, ai, din, ai, din, 0, aa, T)
      blas.sgemm(false, true, T, T, dout, 1, gi, dout, gi, dout, 0, gg, T)
      sq[i] = blas.sdot(T * T, aa, 1, gg, 1)
    }
    return { sq, cross: undefined }
  }
  const G = new Float32Array(din * dout)
  const cross = tied === undefined ? undefined : new Float64Array(B)
  const slots = tied === undefined ? undefined : new SlotSums(T, din)
  for (let i = 0; i < B; i++) {
    blas.sgemm(true, false, din, dout, T, 1, a.subarray(i * T * din), din, g.subarray(i * T * dout), dout, 0, G, dout)
    sq[i] = blas.sdot(din * dout, G, 1, G, 1)
    if (tied !== undefined && slots !== undefined && cross !== undefined) {
      // A_i's rows (lookup gradient summed by token) against G_i's columns [d, V] at those tokens
      slots.fill(tied.tokenIds, tied.g, i)
      let c = 0
      for (let s = 0; s < slots.count; s++) {
        const v = slots.token[s] as number
        const base = s * din
        for (let k = 0; k < din; k++) c += (slots.acc[base + k] as number) * (G[k * dout + v] as number)
      }
      cross[i] = 2 * c
    }
  }
  return { sq, cross }
}

/** Per-example sums of gradient rows by token id (float64), reused across examples. */
class SlotSums {
  readonly acc: Float64Array
  readonly token: Int32Array
  count = 0
  private readonly T: number
  private readonly d: number
  private readonly slotOf = new Map<number, number>()
  constructor(T: number, d: number) {
    this.T = T
    this.d = d
    this.acc = new Float64Array(T * d)
    this.token = new Int32Array(T)
  }
  fill(ids: Int32Array, g: Float32Array, i: number): void {
    const { T, d } = this
    this.slotOf.clear()
    this.count = 0
    this.acc.fill(0)
    for (let t = 0; t < T; t++) {
      const tok = ids[i * T + t] as number
      let sl = this.slotOf.get(tok)
      if (sl === undefined) {
        sl = this.count++
        this.slotOf.set(tok, sl)
        this.token[sl] = tok
      }
      const src = (i * T + t) * d
      const dst = sl * d
      for (let k = 0; k < d; k++) this.acc[dst + k] = (this.acc[dst + k] as number) + (g[src + k] as number)
    }
  }
}
