/**
 * DP events: JSON-serializable descriptions of what a mechanism did, composed into a
 * run's privacy ledger and handed to the accountants (modelled on dp_accounting's DpEvent).
 *
 * Leaves (each records its neighbouring relation):
 * - GaussianEvent: sum of sensitivity-1 (clipped) vectors plus N(0, sigma^2 I).
 * - PoissonSampledGaussianEvent: the same on a Poisson sample with rate q (DP-SGD step).
 * - TruncatedPoissonSampledGaussianEvent: Poisson sample truncated to a batch cap B
 *   (Chua et al. 2024, arXiv:2411.04205); PLD only.
 * Combinators: SelfComposedEvent (count repetitions), ComposedEvent (a sequence).
 * PrivateSelectionEvent: the best of K runs of a trial event, K drawn from `trials`
 * (Papernot and Steinke 2022; hyperparameter-selection.ts); RDP only (PLD has no analysis).
 *
 * Neighbouring relation: "add_remove" (add or remove one record) or "replace_one"
 * (replace one record: the sum changes by up to 2, so a Gaussian step is accounted as
 * sigma/2; subsampled replace-one events are refused by both accountants).
 */
import { Schema } from "effect"
import { TrialCount } from "@dpipe/accounting/hyperparameter-selection"

export const Neighbouring = Schema.Literals(["add_remove", "replace_one"])
export type Neighbouring = typeof Neighbouring.Type

const NonNegative = Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0))
const Probability = Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: 1 }))
const PositiveInt = Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))
const NonNegativeInt = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))

export const GaussianEvent = Schema.TaggedStruct("GaussianEvent", {
  noiseMultiplier: NonNegative,
  neighbouring: Neighbouring
})
export type GaussianEvent = typeof GaussianEvent.Type

export const PoissonSampledGaussianEvent = Schema.TaggedStruct("PoissonSampledGaussianEvent", {
  samplingRate: Probability,
  noiseMultiplier: NonNegative,
  neighbouring: Neighbouring
})
export type PoissonSampledGaussianEvent = typeof PoissonSampledGaussianEvent.Type

export const TruncatedPoissonSampledGaussianEvent = Schema.TaggedStruct("TruncatedPoissonSampledGaussianEvent", {
  datasetSize: PositiveInt,
  batchCap: PositiveInt,
  samplingRate: Probability,
  noiseMultiplier: NonNegative,
  neighbouring: Neighbouring
})
export type TruncatedPoissonSampledGaussianEvent = typeof TruncatedPoissonSampledGaussianEvent.Type

export type LeafEvent = GaussianEvent | PoissonSampledGaussianEvent | TruncatedPoissonSampledGaussianEvent

export interface SelfComposedEvent {
  readonly _tag: "SelfComposedEvent"
  readonly event: DpEvent
  readonly count: number
}

export interface ComposedEvent {
  readonly _tag: "ComposedEvent"
  readonly events: ReadonlyArray<DpEvent>
}

/**
 * Releasing only the best of K runs of `trial` (each run with data-independently drawn
 * hyperparameters), K drawn from `trials` and kept secret (hyperparameter-selection.ts).
 */
export interface PrivateSelectionEvent {
  readonly _tag: "PrivateSelectionEvent"
  readonly trial: DpEvent
  readonly trials: TrialCount
}

export type DpEvent = LeafEvent | SelfComposedEvent | ComposedEvent | PrivateSelectionEvent

const DpEventRef: Schema.Codec<DpEvent> = Schema.suspend((): Schema.Codec<DpEvent> => DpEvent)

export const SelfComposedEvent: Schema.Codec<SelfComposedEvent> = Schema.TaggedStruct("SelfComposedEvent", {
  event: DpEventRef,
  count: NonNegativeInt
})

export const ComposedEvent: Schema.Codec<ComposedEvent> = Schema.TaggedStruct("ComposedEvent", {
  events: Schema.Array(DpEventRef)
})

export const PrivateSelectionEvent: Schema.Codec<PrivateSelectionEvent> = Schema.TaggedStruct("PrivateSelectionEvent", {
  trial: DpEventRef,
  trials: TrialCount
})

/** Schema of any DP event; decode ledger JSON with `Schema.decodeUnknownResult(DpEvent)`. */
export const DpEvent: Schema.Codec<DpEvent> = Schema.Union([
  GaussianEvent,
  PoissonSampledGaussianEvent,
  TruncatedPoissonSampledGaussianEvent,
  SelfComposedEvent,
  ComposedEvent,
  PrivateSelectionEvent
])

/** JSON value of an event, as stored in the ledger. */
export const DpEventFromJson = Schema.fromJsonString(DpEvent)

// ---- helper constructors -------------------------------------------------------------

export const gaussian = (noiseMultiplier: number, neighbouring: Neighbouring = "add_remove"): GaussianEvent => ({
  _tag: "GaussianEvent",
  noiseMultiplier,
  neighbouring
})

export const poissonSampledGaussian = (
  samplingRate: number,
  noiseMultiplier: number,
  neighbouring: Neighbouring = "add_remove"
): PoissonSampledGaussianEvent => ({ _tag: "PoissonSampledGaussianEvent", samplingRate, noiseMultiplier, neighbouring })

export const truncatedPoissonSampledGaussian = (args: {
  readonly datasetSize: number
  readonly batchCap: number
  readonly samplingRate: number
  readonly noiseMultiplier: number
  readonly neighbouring?: Neighbouring
}): TruncatedPoissonSampledGaussianEvent => ({
  _tag: "TruncatedPoissonSampledGaussianEvent",
  datasetSize: args.datasetSize,
  batchCap: args.batchCap,
  samplingRate: args.samplingRate,
  noiseMultiplier: args.noiseMultiplier,
  neighbouring: args.neighbouring ?? "add_remove"
})

/**
 * The event of one DP-SGD step as the sampler implements it: Poisson sampling at rate q,
 * truncated to a batch cap when both `datasetSize` and `batchCap` are given (docs/privacy.md,
 * P3). The one place where sampler settings become an accountant event: the
 * training stage, calibration and `pipeline account` all build their events here.
 */
export const dpSgdStepEvent = (args: {
  readonly samplingRate: number
  readonly noiseMultiplier: number
  readonly datasetSize?: number | undefined
  readonly batchCap?: number | undefined
  readonly neighbouring?: Neighbouring
}): LeafEvent =>
  args.datasetSize !== undefined && args.batchCap !== undefined
    ? truncatedPoissonSampledGaussian({
        datasetSize: args.datasetSize,
        batchCap: args.batchCap,
        samplingRate: args.samplingRate,
        noiseMultiplier: args.noiseMultiplier,
        neighbouring: args.neighbouring ?? "add_remove"
      })
    : poissonSampledGaussian(args.samplingRate, args.noiseMultiplier, args.neighbouring ?? "add_remove")

export const selfComposed = (event: DpEvent, count: number): SelfComposedEvent => ({
  _tag: "SelfComposedEvent",
  event,
  count
})

export const composed = (events: ReadonlyArray<DpEvent>): ComposedEvent => ({ _tag: "ComposedEvent", events })

export const privateSelection = (trial: DpEvent, trials: TrialCount): PrivateSelectionEvent => ({ _tag: "PrivateSelectionEvent", trial, trials })

/** The private selections inside an event (a selection is accounted whole, never flattened). */
export const selectionsOf = (event: DpEvent): ReadonlyArray<{ readonly selection: PrivateSelectionEvent; readonly count: number }> => {
  const out: Array<{ selection: PrivateSelectionEvent; count: number }> = []
  const visit = (e: DpEvent, mult: number): void => {
    if (e._tag === "SelfComposedEvent") visit(e.event, mult * e.count)
    else if (e._tag === "ComposedEvent") for (const c of e.events) visit(c, mult)
    else if (e._tag === "PrivateSelectionEvent" && mult > 0) out.push({ selection: e, count: mult })
  }
  visit(event, 1)
  return out
}

/**
 * The leaves of an event with their total repetition counts, in first-seen order. Private
 * selections are not leaves and are left out: an accountant takes them from `selectionsOf`.
 */
export const flattenEvent = (event: DpEvent): ReadonlyArray<{ readonly leaf: LeafEvent; readonly count: number }> => {
  const out: Array<{ leaf: LeafEvent; count: number }> = []
  const visit = (e: DpEvent, mult: number): void => {
    switch (e._tag) {
      case "SelfComposedEvent":
        visit(e.event, mult * e.count)
        return
      case "ComposedEvent":
        for (const c of e.events) visit(c, mult)
        return
      case "PrivateSelectionEvent":
        // not a leaf: accounted whole through selectionsOf (RDP only)
        return
      default: {
        if (mult === 0) return
        const key = JSON.stringify(e)
        const found = out.find((o) => JSON.stringify(o.leaf) === key)
        if (found) found.count += mult
        else out.push({ leaf: e, count: mult })
      }
    }
  }
  visit(event, 1)
  return out
}
