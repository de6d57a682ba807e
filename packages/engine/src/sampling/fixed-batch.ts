/**
 * Fixed-size batches for the scaling-law sweep (McKenna et al. 2025, "Scaling Laws for
 * Differentially Private Language Models", §3.1): every step takes exactly `b` examples,
 * drawn without replacement in shuffled epochs. Epoch e is a Fisher-Yates permutation of
 * [0, N) from the keyed ChaCha20 stream (key, "fixed-batch", e); step t takes positions
 * [t*b, (t+1)*b) of the concatenated epochs. The batch of step t is therefore a pure
 * function of (key, t, N, b): reproducible and resumable from t alone.
 *
 * This sampler has NO privacy accounting of its own: the sweep injects noise at a target
 * noise-batch ratio as a hyperparameter (dp/noise-batch-ratio.ts) and trains on public
 * data. DP-SGD with a privacy guarantee uses the Poisson samplers (poisson.ts, truncated.ts).
 */
import { keyedStream } from "@dpipe/random/keyed-random"
import { SamplerConfigError } from "@dpipe/engine/sampling/errors"

/** Keyed-stream domain of the epoch permutations (the counter is the epoch). */
export const FIXED_BATCH_DOMAIN = "fixed-batch"

/** The permutation of [0, n) of epoch `epoch` (Fisher-Yates on the keyed stream). */
export const epochPermutation = (key: Uint8Array, epoch: number, n: number): Int32Array => {
  const perm = new Int32Array(n)
  for (let i = 0; i < n; i++) perm[i] = i
  const s = keyedStream(key, FIXED_BATCH_DOMAIN, epoch)
  for (let i = n - 1; i > 0; i--) {
    // 53-bit uniform: the bias of floor(u * (i + 1)) is below 2^-30 for i < 2^23.
    const j = Math.floor(s.uniform() * (i + 1))
    const t = perm[i] as number
    perm[i] = perm[j] as number
    perm[j] = t
  }
  return perm
}

const validate = (n: number, b: number, step: number): void => {
  if (!Number.isSafeInteger(n) || n < 1 || n >= 2 ** 31) {
    throw new SamplerConfigError({ message: `fixed-batch sampler: dataset size N must be an integer in [1, 2^31), got ${n}. Pass the number of packed sequences.` })
  }
  if (!Number.isSafeInteger(b) || b < 1) {
    throw new SamplerConfigError({ message: `fixed-batch sampler: batch size b must be a positive integer, got ${b}.` })
  }
  if (!Number.isSafeInteger(step) || step < 0) {
    throw new SamplerConfigError({ message: `fixed-batch sampler: step must be a non-negative integer, got ${step}.` })
  }
}

/**
 * A sampler of fixed batches of `b` out of `n` examples under `key`; it caches the
 * permutations of the epochs a step touches, so consecutive steps cost O(b) each.
 */
export const fixedBatchSampler = (key: Uint8Array, n: number, b: number): ((step: number) => Int32Array) => {
  validate(n, b, 0)
  const cache = new Map<number, Int32Array>()
  const perm = (epoch: number): Int32Array => {
    let p = cache.get(epoch)
    if (p === undefined) {
      p = epochPermutation(key, epoch, n)
      // Keep only the epochs a step can straddle (the current and the next one).
      for (const k of cache.keys()) if (k < epoch - 1) cache.delete(k)
      cache.set(epoch, p)
    }
    return p
  }
  return (step) => {
    validate(n, b, step)
    const out = new Int32Array(b)
    const start = step * b
    for (let i = 0; i < b; i++) {
      const pos = start + i
      const epoch = Math.floor(pos / n)
      out[i] = perm(epoch)[pos - epoch * n] as number
    }
    return out
  }
}

/** Epochs (passes over the data) that `steps` steps of `b` out of `n` examples make. */
export const epochsOf = (steps: number, b: number, n: number): number => (steps * b) / n
