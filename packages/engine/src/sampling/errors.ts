/**
 * Typed errors of the Poisson sampler.
 */
import { Schema } from "effect"

/** A sampler argument is out of range (N, q, step or cap). The message says which and how to fix it. */
export class SamplerConfigError extends Schema.TaggedError<SamplerConfigError>()("SamplerConfigError", {
  message: Schema.String
}) {}
