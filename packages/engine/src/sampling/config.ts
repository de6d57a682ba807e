/**
 * Sampler configuration and the privacy event it implies. The accountant event must
 * match the sampler (docs/privacy.md, P3): plain Poisson -> Poisson-subsampled Gaussian;
 * truncated Poisson -> the truncated event (PLD only, Chua et al. 2024).
 */
import { Schema } from "effect"

/** Sampler settings: N sequences, rate q, optional cap B for truncation with padding. */
export const SamplerConfig = Schema.Struct({
  n: Schema.Int,
  q: Schema.Finite,
  maxBatchSize: Schema.optionalKey(Schema.Int)
})
export type SamplerConfig = typeof SamplerConfig.Type

/** What the accountant needs to know about the sampling. */
export type SamplingEvent =
  | { readonly kind: "poisson"; readonly n: number; readonly q: number; readonly expectedBatchSize: number }
  | {
    readonly kind: "truncated-poisson"
    readonly n: number
    readonly q: number
    readonly expectedBatchSize: number
    readonly maxBatchSize: number
  }

/** The sampling event a config implies (hand this to the accountant). */
export const describeSampling = (config: SamplerConfig): SamplingEvent =>
  config.maxBatchSize === undefined
    ? { kind: "poisson", n: config.n, q: config.q, expectedBatchSize: config.q * config.n }
    : {
      kind: "truncated-poisson",
      n: config.n,
      q: config.q,
      expectedBatchSize: config.q * config.n,
      maxBatchSize: config.maxBatchSize
    }
