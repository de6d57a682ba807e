/**
 * Poisson subsampling for DP-SGD: at step t each of the N examples joins the batch
 * independently with probability q (the sampling scheme the Poisson-subsampled
 * Gaussian accountant assumes: Abadi et al. 2016 "Deep Learning with Differential
 * Privacy"; docs/privacy.md, P3).
 *
 * Cost is proportional to the expected batch size q*N, not to N, by geometric
 * skipping: the number of rejected examples before the next accepted one is
 * Geometric(q), drawn by inversion as floor(log(U) / log(1 - q)) with U uniform in
 * (0, 1] (Devroye 1986, "Non-Uniform Random Variate Generation", ch. X.2;
 * P(gap >= k) = P(U <= (1-q)^k) = (1-q)^k).
 *
 * Randomness is the keyed ChaCha20 stream for (key, "sampler", t) (docs/privacy.md, P7),
 * so the batch for step t is a pure function of (key, t, N, q): reproducible,
 * resumable from t alone and independent of the order in which steps are computed.
 * Indices are float64 integers, exact up to 2^53, so N of 1e9 and beyond is fine.
 */
import { keyedStream, type KeyedStream } from "@dpipe/random/keyed-random"
import { SamplerConfigError } from "@dpipe/engine/sampling/errors"

/** Keyed-stream domain of the sampler (the counter is the step). */
export const SAMPLER_DOMAIN = "sampler"

/** Expected (public) batch size q*N: the DP-SGD denominator (docs/privacy.md, P1). */
export const expectedBatchSize = (n: number, q: number): number => {
  validate(n, q, 0)
  return q * n
}

/** Throws SamplerConfigError unless N is a non-negative safe integer, q in [0, 1] and step a non-negative safe integer. */
export const validate = (n: number, q: number, step: number): void => {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new SamplerConfigError({ message: `Poisson sampler: dataset size N must be a non-negative integer below 2^53, got ${n}. Pass the number of packed sequences.` })
  }
  if (!(q >= 0 && q <= 1)) {
    throw new SamplerConfigError({ message: `Poisson sampler: sampling rate q must be in [0, 1], got ${q}. Use q = expected batch size / N.` })
  }
  if (!Number.isSafeInteger(step) || step < 0) {
    throw new SamplerConfigError({ message: `Poisson sampler: step must be a non-negative integer, got ${step}.` })
  }
}

/**
 * Draws the ascending indices of the Poisson batch into a growing buffer, using the
 * given stream. Exposed for the truncating sampler, which continues the same stream.
 */
export const drawPoisson = (stream: KeyedStream, n: number, q: number): Float64Array => {
  if (q === 0 || n === 0) return new Float64Array(0)
  const mean = q * n
  let out = new Float64Array(Math.min(n, Math.ceil(mean + 6 * Math.sqrt(mean) + 16)))
  let size = 0
  if (q === 1) {
    out = new Float64Array(n)
    for (let i = 0; i < n; i++) out[i] = i
    return out
  }
  const logOneMinusQ = Math.log1p(-q) // < 0
  let i = -1
  for (;;) {
    const gap = Math.floor(Math.log(stream.uniformPositive()) / logOneMinusQ)
    i += gap + 1
    if (i >= n) break
    if (size === out.length) {
      const grown = new Float64Array(Math.min(n, out.length * 2))
      grown.set(out)
      out = grown
    }
    out[size++] = i
  }
  return out.subarray(0, size)
}

/**
 * The Poisson batch for step t: the ascending indices in [0, N) of the included
 * examples. A pure function of (key, t, N, q).
 *
 * @param key the run secret (32 bytes)
 * @param step the training step t (counter of the keyed stream)
 * @param n dataset size N (number of sequences)
 * @param q inclusion probability
 * @throws SamplerConfigError on out-of-range arguments
 */
export const poissonBatch = (key: Uint8Array, step: number, n: number, q: number): Float64Array => {
  validate(n, q, step)
  return drawPoisson(keyedStream(key, SAMPLER_DOMAIN, step), n, q)
}
