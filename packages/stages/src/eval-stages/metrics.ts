/**
 * The arithmetic of the evaluation stages, free of tensors and I/O so that tests can
 * check it against independent computations.
 *
 * - Held-out loss, perplexity and bits per byte. Bits per byte (the tokenizer-free
 *   measure of Gao et al. 2020, "The Pile", section 4.1) is total nats / ln 2 / total
 *   UTF-8 bytes, over the same predicted tokens: bytes are the bytes the scored target
 *   tokens decode to (special tokens decode to none).
 * - The unigram baseline: token frequencies with add-one (Laplace) smoothing,
 *   p(v) = (count(v) + 1) / (N + V).
 * - Canary exposure (Carlini et al. 2019, "The Secret Sharer: Evaluating and Testing
 *   Unintended Memorization in Neural Networks", USENIX Security, section 4):
 *   exposure = log2 |R| - log2 rank(s), rank among all secrets R of the format by
 *   log-perplexity. With M random candidates instead of all of R we use the rank
 *   estimator over the sample, log2(M + 1) - log2(1 + #{candidates below s}), which
 *   lies in [0, log2(M + 1)]; and the paper's distribution-fit extrapolation (their
 *   section 4.3 fits a skew-normal; we fit a normal): exposure ~ -log2 Phi((x - mu) / sd),
 *   capped at log2 |R|.
 * - Token-level Levenshtein distance (Levenshtein 1966), for the approximate
 *   extraction test of the VaultGemma report (within 10% normalized edit distance).
 */

export const LN2 = Math.LN2

export interface LossSummary {
  /** Scored target tokens. */
  readonly tokens: number
  /** UTF-8 bytes of the scored targets. */
  readonly bytes: number
  /** Sum of token losses, in nats. */
  readonly totalNats: number
}

export interface LossMetrics extends LossSummary {
  /** Mean loss per token (nats). */
  readonly meanLoss: number
  readonly perplexity: number
  readonly bitsPerToken: number
  readonly bitsPerByte: number
}

export const lossMetrics = (s: LossSummary): LossMetrics => {
  const meanLoss = s.tokens > 0 ? s.totalNats / s.tokens : Number.NaN
  return {
    ...s,
    meanLoss,
    perplexity: Math.exp(meanLoss),
    bitsPerToken: meanLoss / LN2,
    bitsPerByte: s.bytes > 0 ? s.totalNats / LN2 / s.bytes : Number.NaN
  }
}

/**
 * Unigram model with add-one smoothing fitted on token counts: -log p(v) per token id.
 * `exclude` ids (padding) are not counted, but keep their smoothed probability.
 */
export const unigramNegLogProbs = (counts: Float64Array, exclude: ReadonlyArray<number> = []): Float64Array => {
  const V = counts.length
  let n = 0
  for (let v = 0; v < V; v++) if (!exclude.includes(v)) n += counts[v] as number
  const out = new Float64Array(V)
  const logZ = Math.log(n + V)
  for (let v = 0; v < V; v++) out[v] = logZ - Math.log((exclude.includes(v) ? 0 : (counts[v] as number)) + 1)
  return out
}

/** rank = 1 + number of candidates with strictly lower log-perplexity than the secret's. */
export const rankAmong = (secret: number, candidates: ArrayLike<number>): number => {
  let below = 0
  for (let i = 0; i < candidates.length; i++) if ((candidates[i] as number) < secret) below++
  return 1 + below
}

/** The rank estimator of exposure over M sampled candidates: log2(M + 1) - log2(rank), in [0, log2(M + 1)]. */
export const sampledExposure = (rank: number, candidates: number): number => Math.log2(candidates + 1) - Math.log2(rank)

/**
 * ln erfc(x), from Numerical Recipes' erfcc (Chebyshev fit, fractional error < 1.2e-7
 * everywhere), evaluated in log space so the far tail does not underflow.
 */
export const logErfc = (x: number): number => {
  const z = Math.abs(x)
  const t = 1 / (1 + 0.5 * z)
  const poly =
    -z * z - 1.26551223 +
    t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))))
  const lnPos = Math.log(t) + poly // ln erfc(|x|)
  return x >= 0 ? lnPos : Math.log(2 - Math.exp(lnPos))
}

/** log2 Phi(z), the standard normal CDF, accurate in the lower tail. */
export const log2NormalCdf = (z: number): number => (logErfc(-z / Math.SQRT2) - LN2) / LN2

/**
 * Exposure extrapolated by fitting a normal distribution to the candidates'
 * log-perplexities: -log2 Pr[x' <= x], capped at log2 |R| (Carlini et al. 2019, 4.3).
 */
export const normalFitExposure = (secret: number, candidates: ArrayLike<number>, spaceSize: number): number => {
  const n = candidates.length
  if (n < 2) return Number.NaN
  let mean = 0
  for (let i = 0; i < n; i++) mean += candidates[i] as number
  mean /= n
  let ss = 0
  for (let i = 0; i < n; i++) ss += ((candidates[i] as number) - mean) ** 2
  const sd = Math.sqrt(ss / (n - 1))
  const cap = Math.log2(spaceSize)
  if (!(sd > 0)) return secret < mean ? cap : 0
  return Math.min(cap, Math.max(0, -log2NormalCdf((secret - mean) / sd)))
}

/** Levenshtein distance between two token sequences (unit costs), O(|a| |b|) time, O(|b|) memory. */
export const levenshtein = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  const m = b.length
  let prev = new Int32Array(m + 1)
  let cur = new Int32Array(m + 1)
  for (let j = 0; j <= m; j++) prev[j] = j
  for (let i = 1; i <= a.length; i++) {
    cur[0] = i
    const ai = a[i - 1]
    for (let j = 1; j <= m; j++) {
      const sub = (prev[j - 1] as number) + (ai === b[j - 1] ? 0 : 1)
      cur[j] = Math.min(sub, (prev[j] as number) + 1, (cur[j - 1] as number) + 1)
    }
    const t = prev
    prev = cur
    cur = t
  }
  return prev[m] as number
}

/** Edit distance normalized by the length of the true suffix. */
export const normalizedEditDistance = (decoded: ArrayLike<number>, truth: ArrayLike<number>): number =>
  truth.length === 0 ? (decoded.length === 0 ? 0 : 1) : levenshtein(decoded, truth) / truth.length

export const sameTokens = (a: ArrayLike<number>, b: ArrayLike<number>): boolean => {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/** Index of the first occurrence of `needle` in `hay[from, to)`, or -1. */
export const indexOfTokens = (hay: Int32Array, needle: ArrayLike<number>, from = 0, to = hay.length): number => {
  const n = needle.length
  outer: for (let i = from; i + n <= to; i++) {
    for (let j = 0; j < n; j++) if (hay[i + j] !== needle[j]) continue outer
    return i
  }
  return -1
}

/** Index of the largest value (the lowest index among ties): the greedy choice. */
export const argmax = (v: Float32Array, offset: number, length: number): number => {
  let best = 0
  let bv = -Infinity
  for (let i = 0; i < length; i++) {
    const x = v[offset + i] as number
    if (x > bv) {
      bv = x
      best = i
    }
  }
  return best
}
