/**
 * One observation of a scaling sweep: a training run's loss at one logged step
 * (McKenna et al. 2025, "Scaling Laws for Differentially Private Language Models", §3:
 * every T is read from the same run, no retraining per T).
 *
 * The noise-batch ratio sigma-bar is the standard deviation of the noise added to the MEAN
 * clipped gradient (sigma / expected batch under Poisson sampling); 0 is non-private.
 */
import { Schema } from "effect"

const Positive = Schema.Finite.check(Schema.isGreaterThan(0))
const NonNegative = Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0))

export const SweepObservation = Schema.Struct({
  /** Model name, e.g. "micro"; must be one of the fit's models. */
  model: Schema.String,
  /** Parameter count M used in C = 6 M B S T. */
  params: Positive,
  learningRate: Positive,
  /** sigma-bar: std of the noise on the mean gradient (0 = non-private). */
  noiseBatchRatio: NonNegative,
  /** T, the training step at which the loss was logged. */
  step: Positive,
  /** Held-out (or < 1 epoch training) cross-entropy, nats/token. */
  loss: Positive
})
export type SweepObservation = typeof SweepObservation.Type

/** A model of the sweep: its name, parameter count and the config that builds it. */
export const ModelSpec = Schema.Struct({
  name: Schema.String,
  params: Positive,
  config: Schema.Record(Schema.String, Schema.Finite)
})
export type ModelSpec = typeof ModelSpec.Type
