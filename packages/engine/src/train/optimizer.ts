/**
 * AdamW (Loshchilov & Hutter 2019, "Decoupled Weight Decay Regularization"; Adam: Kingma &
 * Ba 2015) over a flat float32 parameter vector, computed in float64 per coordinate so
 * that the update is deterministic and independent of any backend. Learning rate: linear
 * warmup then cosine decay to `minLrRatio * peak` (Loshchilov & Hutter 2017, SGDR).
 *
 * Adam is a post-processing of the privatized gradient, so it costs no privacy.
 */
import { Schema } from "effect"
import type { ParamSpec } from "@dpipe/engine/model/gemma"

export const OptimizerConfig = Schema.Struct({
  peakLr: Schema.Finite,
  warmupSteps: Schema.Int,
  /** Total steps of the schedule (cosine reaches its minimum here). */
  totalSteps: Schema.Int,
  minLrRatio: Schema.Finite,
  beta1: Schema.Finite,
  beta2: Schema.Finite,
  eps: Schema.Finite,
  /** Decoupled weight decay, applied to matrices and embeddings, not to RMSNorm scales. */
  weightDecay: Schema.Finite
})
export type OptimizerConfig = typeof OptimizerConfig.Type

export const defaultOptimizer = (totalSteps: number): OptimizerConfig => ({
  peakLr: 3e-3,
  warmupSteps: Math.max(1, Math.round(totalSteps * 0.05)),
  totalSteps,
  minLrRatio: 0.1,
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
  weightDecay: 0.01
})

/** Learning rate at 0-based step `step`: warmup over steps 0..W-1 reaching peak at W-1, then cosine. */
export const learningRate = (o: OptimizerConfig, step: number): number => {
  if (step < o.warmupSteps) return (o.peakLr * (step + 1)) / o.warmupSteps
  const span = Math.max(1, o.totalSteps - o.warmupSteps)
  const progress = Math.min(1, (step - o.warmupSteps) / span)
  const min = o.peakLr * o.minLrRatio
  return min + 0.5 * (o.peakLr - min) * (1 + Math.cos(Math.PI * progress))
}

/**
 * One AdamW update in place. `t` is the 1-based update count (bias correction).
 * theta <- theta - lr (m^ / (sqrt(v^) + eps) + wd theta)
 */
export const adamwUpdate = (
  o: OptimizerConfig,
  layout: ReadonlyArray<ParamSpec>,
  params: Float32Array,
  m: Float32Array,
  v: Float32Array,
  grad: Float32Array,
  t: number,
  lr: number
): void => {
  const b1 = o.beta1
  const b2 = o.beta2
  const c1 = 1 - Math.pow(b1, t)
  const c2 = 1 - Math.pow(b2, t)
  for (const s of layout) {
    const wd = s.kind === "scale" ? 0 : o.weightDecay
    const end = s.offset + s.size
    for (let i = s.offset; i < end; i++) {
      const g = grad[i] as number
      const mi = b1 * (m[i] as number) + (1 - b1) * g
      const vi = b2 * (v[i] as number) + (1 - b2) * g * g
      m[i] = mi
      v[i] = vi
      const p = params[i] as number
      params[i] = p - lr * (mi / c1 / (Math.sqrt(vi / c2) + o.eps) + wd * p)
    }
  }
}
