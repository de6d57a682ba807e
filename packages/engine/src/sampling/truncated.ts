/**
 * Truncated Poisson subsampling with padding (Chua et al. 2024, "Scalable DP-SGD:
 * Shuffling vs. Poisson Subsampling"; the VaultGemma recipe): draw the Poisson batch;
 * if it holds more than the cap B, keep a uniformly random subset of B; then pad to
 * exactly B slots with zero-weight dummies. The fixed shape suits compiled training
 * steps. Truncation changes the privacy analysis: the accountant must use the
 * truncated event (docs/privacy.md, P3): see `dpSgdStepEvent` in @dpipe/accounting.
 *
 * The subset is chosen by a partial Fisher-Yates shuffle (Knuth, TAOCP vol. 2,
 * Algorithm 3.4.2 P) driven by the same keyed stream, continued after the Poisson
 * draws, so the padded batch is still a pure function of (key, t, N, q, B).
 */
import { keyedStream } from "@dpipe/random/keyed-random"
import { SamplerConfigError } from "@dpipe/engine/sampling/errors"
import { drawPoisson, SAMPLER_DOMAIN, validate } from "@dpipe/engine/sampling/poisson"

/** Index used in padding slots. Its weight is 0: the trainer must treat it as a dummy example. */
export const PAD_INDEX = -1

/** One fixed-size batch. */
export interface PaddedBatch {
  /** B slots: ascending real indices first, then PAD_INDEX. */
  readonly indices: Float64Array
  /** B weights: 1 for real examples, 0 for padding. */
  readonly weights: Float32Array
  /** Number of real examples kept (<= B). */
  readonly realCount: number
  /** Size of the Poisson batch before truncation. */
  readonly poissonSize: number
  /** True when poissonSize > B and examples were dropped. */
  readonly truncated: boolean
}

/**
 * The truncated, padded Poisson batch for step t with cap B.
 *
 * @throws SamplerConfigError on out-of-range arguments (B must be a positive integer)
 */
export const truncatedPoissonBatch = (
  key: Uint8Array,
  step: number,
  n: number,
  q: number,
  cap: number
): PaddedBatch => {
  validate(n, q, step)
  if (!Number.isSafeInteger(cap) || cap < 1) {
    throw new SamplerConfigError({ message: `Truncated Poisson sampler: the cap B must be a positive integer, got ${cap}. Choose B well above q*N (e.g. q*N + 4 sqrt(q*N)) to keep truncation rare.` })
  }
  const stream = keyedStream(key, SAMPLER_DOMAIN, step)
  const drawn = drawPoisson(stream, n, q)
  const poissonSize = drawn.length
  let kept: Float64Array = drawn
  if (poissonSize > cap) {
    const pool = Float64Array.from(drawn)
    for (let j = 0; j < cap; j++) {
      const r = j + Math.floor(stream.uniform() * (poissonSize - j))
      const tmp = pool[j] as number
      pool[j] = pool[r] as number
      pool[r] = tmp
    }
    kept = pool.subarray(0, cap).sort()
  }
  const indices = new Float64Array(cap).fill(PAD_INDEX)
  indices.set(kept)
  const weights = new Float32Array(cap)
  weights.fill(1, 0, kept.length)
  return { indices, weights, realCount: kept.length, poissonSize, truncated: poissonSize > cap }
}

/** Running count of truncation events, for the run report and the accountant's check. */
export interface TruncationStats {
  readonly steps: number
  readonly truncatedSteps: number
  readonly droppedExamples: number
}

/** The empty count. */
export const emptyTruncationStats: TruncationStats = { steps: 0, truncatedSteps: 0, droppedExamples: 0 }

/** Adds one step's batch to the count. */
export const recordTruncation = (stats: TruncationStats, batch: PaddedBatch): TruncationStats => ({
  steps: stats.steps + 1,
  truncatedSteps: stats.truncatedSteps + (batch.truncated ? 1 : 0),
  droppedExamples: stats.droppedExamples + (batch.poissonSize - batch.realCount)
})
