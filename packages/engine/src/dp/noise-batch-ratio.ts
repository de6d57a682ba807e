/**
 * The noise-batch ratio sigma-bar of McKenna et al. 2025 ("Scaling Laws for
 * Differentially Private Language Models", §2 and Alg. 1): the std of the Gaussian noise
 * on the MEAN clipped gradient of a batch,
 *   g~ = (1/b) * sum_i clip(g_i, c) / c  +  sigma-bar * N(0, I),
 * with "normalised" clipping (clip to c, then divide by c, so the learning rate does not
 * depend on c). The paper's sweep decouples the noise from the batch: each run uses one
 * physical batch b and injects sigma-bar directly; post-hoc accounting maps a privacy
 * budget to sigma = B * sigma-bar for any expected batch B (§3.1).
 *
 * The training loop already computes (sum_i clip(g_i, C) + N(0, sigma^2 C^2)) / E with the
 * keyed noise stream (dp/noise.ts). Setting C = c, sigma = b * sigma-bar and E = b * c gives
 * exactly the expression above, so this module only maps the sweep's hyperparameters onto
 * the loop's mechanism: no second noise path, and the same keyed CSPRNG.
 *
 * NOT a DP mechanism by itself: sigma-bar is a hyperparameter with no (epsilon, delta).
 */
import type { DpMechanism } from "@dpipe/engine/train/loop"

export interface NoiseBatchRatioSettings {
  /** sigma-bar >= 0: noise std on the mean gradient (0: clipped, noiseless). */
  readonly noiseBatchRatio: number
  /** The fixed physical batch b (examples per step). */
  readonly batchSize: number
  /** The clip norm c (the paper uses 1). */
  readonly clipNorm: number
  /** 32-byte secret key of the noise stream. */
  readonly noiseKey: Uint8Array
}

/** The loop's mechanism that adds sigma-bar * N(0, I) to the mean of normalised clipped gradients. */
export const noiseBatchRatioMechanism = (s: NoiseBatchRatioSettings): DpMechanism => {
  if (!(Number.isFinite(s.noiseBatchRatio) && s.noiseBatchRatio >= 0)) {
    throw new RangeError(`noise-batch ratio must be a finite number >= 0, got ${s.noiseBatchRatio}`)
  }
  if (!(Number.isSafeInteger(s.batchSize) && s.batchSize > 0)) throw new RangeError(`batch size must be a positive integer, got ${s.batchSize}`)
  if (!(Number.isFinite(s.clipNorm) && s.clipNorm > 0)) throw new RangeError(`clip norm must be a finite number > 0, got ${s.clipNorm}`)
  return {
    clipNorm: s.clipNorm,
    noiseMultiplier: s.batchSize * s.noiseBatchRatio,
    expectedBatchSize: s.batchSize * s.clipNorm,
    noiseKey: s.noiseKey
  }
}

/** The noise multiplier sigma on the summed gradient of an expected batch B that gives ratio sigma-bar: sigma = B * sigma-bar. */
export const noiseMultiplierOf = (noiseBatchRatio: number, expectedBatchSize: number): number => noiseBatchRatio * expectedBatchSize

/** The noise-batch ratio of DP-SGD with noise multiplier sigma and expected batch B: sigma-bar = sigma / B. */
export const noiseBatchRatioOf = (noiseMultiplier: number, expectedBatchSize: number): number => noiseMultiplier / expectedBatchSize
