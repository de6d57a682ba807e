/**
 * The DP execution plan: one value that fixes everything the privacy guarantee depends
 * on (docs/privacy.md, P1-P4). Recorded with the run; the accountant turns it into an epsilon.
 *
 * Mechanism (Abadi et al. 2016): each step samples a Poisson batch with rate q from N
 * sequences (optionally truncated to `batchCap`, Chua et al. 2024), clips each example's
 * gradient to L2 norm C, adds N(0, sigma^2 C^2) to the sum once per logical step, and
 * divides by the expected batch size q N.
 * Sensitivity: C under add/remove adjacency; 2C under replace-one (the accountant must
 * then use sigma / 2 as the effective noise multiplier: docs/privacy.md, P4).
 */
import { Effect, Schema } from "effect"

export const NeighbouringRelation = Schema.Literals(["add-remove", "replace-one"])
export type NeighbouringRelation = typeof NeighbouringRelation.Type

export const DpPlan = Schema.Struct({
  /** Poisson sampling rate q in (0, 1]. */
  samplingRate: Schema.Finite,
  /** Number of private sequences N (public). */
  datasetSize: Schema.Int,
  /** Optional truncation cap on the realized batch (truncated Poisson). */
  batchCap: Schema.optionalKey(Schema.Int),
  /** Per-example L2 clip norm C. */
  clipNorm: Schema.Finite,
  /** Noise multiplier sigma: noise std = sigma * C. */
  noiseMultiplier: Schema.Finite,
  neighbouring: NeighbouringRelation,
  /** Number of logical steps. */
  steps: Schema.Int
})
export type DpPlan = typeof DpPlan.Type

/** A DP plan that must not run (refused at plan time). */
export class InvalidDpPlan extends Schema.TaggedError<InvalidDpPlan>()("InvalidDpPlan", {
  field: Schema.String,
  reason: Schema.String
}) {}

/** q * N: the public normalizer of the noisy gradient sum (never the realized batch size). */
export const expectedBatchSize = (p: DpPlan): number => p.samplingRate * p.datasetSize

/** Noise standard deviation sigma * C added to the clipped sum. */
export const noiseStd = (p: DpPlan): number => p.noiseMultiplier * p.clipNorm

/** Returns the first problem with a plan, or undefined when it is valid. */
export const checkDpPlan = (p: DpPlan): InvalidDpPlan | undefined => {
  if (!(p.noiseMultiplier > 0)) return new InvalidDpPlan({ field: "noiseMultiplier", reason: `sigma must be > 0, got ${p.noiseMultiplier}` })
  if (!(p.clipNorm > 0)) return new InvalidDpPlan({ field: "clipNorm", reason: `clip norm C must be > 0, got ${p.clipNorm}` })
  if (!(p.samplingRate > 0 && p.samplingRate <= 1)) return new InvalidDpPlan({ field: "samplingRate", reason: `q must be in (0, 1], got ${p.samplingRate}` })
  if (!(p.datasetSize >= 1)) return new InvalidDpPlan({ field: "datasetSize", reason: `N must be >= 1, got ${p.datasetSize}` })
  if (!(p.steps >= 1)) return new InvalidDpPlan({ field: "steps", reason: `steps must be >= 1, got ${p.steps}` })
  if (p.batchCap !== undefined && p.batchCap < expectedBatchSize(p)) {
    return new InvalidDpPlan({ field: "batchCap", reason: `cap ${p.batchCap} is below the expected batch size q*N = ${expectedBatchSize(p)}` })
  }
  return undefined
}

/** Decodes and validates a plan: fails with InvalidDpPlan (schema errors are reported as field "plan"). */
export const makeDpPlan = (input: unknown): Effect.Effect<DpPlan, InvalidDpPlan> =>
  Effect.gen(function* () {
    const plan = yield* Schema.decodeUnknownEffect(DpPlan)(input).pipe(
      Effect.mapError((e) => new InvalidDpPlan({ field: "plan", reason: String(e) }))
    )
    const problem = checkDpPlan(plan)
    if (problem !== undefined) return yield* problem
    return plan
  })
