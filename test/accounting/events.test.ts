/**
 * DP events as the accountant receives them, against literal values: the one constructor
 * that turns sampler settings into a step event (truncated Poisson only with both N and B,
 * add/remove by default), composition and flattening, and the JSON form the ledger keeps
 * (docs/privacy.md, P3 and P4).
 */
import { describe, expect, it } from "vitest"
import { Schema } from "effect"
import { composed, DpEvent, DpEventFromJson, dpSgdStepEvent, flattenEvent, gaussian, poissonSampledGaussian, selfComposed, truncatedPoissonSampledGaussian } from "@dpipe/accounting/events"

describe("DP events", () => {
  it("dpSgdStepEvent: Poisson unless both N and B are given, add/remove unless told", () => {
    expect(dpSgdStepEvent({ samplingRate: 0.01, noiseMultiplier: 1.2 })).toEqual({ _tag: "PoissonSampledGaussianEvent", samplingRate: 0.01, noiseMultiplier: 1.2, neighbouring: "add_remove" })
    expect(dpSgdStepEvent({ samplingRate: 0.01, noiseMultiplier: 1.2, datasetSize: 1000 })._tag).toBe("PoissonSampledGaussianEvent")
    expect(dpSgdStepEvent({ samplingRate: 0.01, noiseMultiplier: 1.2, batchCap: 30 })._tag).toBe("PoissonSampledGaussianEvent")
    expect(dpSgdStepEvent({ samplingRate: 0.01, noiseMultiplier: 1.2, datasetSize: 1000, batchCap: 30, neighbouring: "replace_one" })).toEqual({
      _tag: "TruncatedPoissonSampledGaussianEvent", datasetSize: 1000, batchCap: 30, samplingRate: 0.01, noiseMultiplier: 1.2, neighbouring: "replace_one"
    })
    expect(dpSgdStepEvent({ samplingRate: 0.01, noiseMultiplier: 1.2, datasetSize: 1000, batchCap: 30 })).toMatchObject({ neighbouring: "add_remove" })
    expect(dpSgdStepEvent({ samplingRate: 0.2, noiseMultiplier: 3, neighbouring: "replace_one" })).toEqual({ _tag: "PoissonSampledGaussianEvent", samplingRate: 0.2, noiseMultiplier: 3, neighbouring: "replace_one" })
  })

  it("constructors give the literal events", () => {
    expect(gaussian(2)).toEqual({ _tag: "GaussianEvent", noiseMultiplier: 2, neighbouring: "add_remove" })
    expect(poissonSampledGaussian(0.5, 1)).toEqual({ _tag: "PoissonSampledGaussianEvent", samplingRate: 0.5, noiseMultiplier: 1, neighbouring: "add_remove" })
    expect(truncatedPoissonSampledGaussian({ datasetSize: 10, batchCap: 3, samplingRate: 0.1, noiseMultiplier: 1 })).toEqual({
      _tag: "TruncatedPoissonSampledGaussianEvent", datasetSize: 10, batchCap: 3, samplingRate: 0.1, noiseMultiplier: 1, neighbouring: "add_remove"
    })
    expect(selfComposed(gaussian(1), 7)).toEqual({ _tag: "SelfComposedEvent", event: { _tag: "GaussianEvent", noiseMultiplier: 1, neighbouring: "add_remove" }, count: 7 })
    expect(composed([])).toEqual({ _tag: "ComposedEvent", events: [] })
  })

  it("flattenEvent multiplies counts through nesting, merges equal leaves in first-seen order, drops zero counts", () => {
    const a = poissonSampledGaussian(0.01, 1), b = gaussian(3)
    const e = composed([selfComposed(a, 10), selfComposed(composed([a, b, selfComposed(b, 2)]), 3), selfComposed(gaussian(9), 0)])
    expect(flattenEvent(e)).toEqual([{ leaf: a, count: 13 }, { leaf: b, count: 9 }])
  })

  it("round-trips through the ledger's JSON and refuses malformed events", () => {
    const e = composed([selfComposed(truncatedPoissonSampledGaussian({ datasetSize: 100, batchCap: 5, samplingRate: 0.02, noiseMultiplier: 0.9 }), 4), gaussian(2, "replace_one"), selfComposed(poissonSampledGaussian(0.01, 1.1), 50)])
    const json = Schema.encodeSync(DpEventFromJson)(e)
    expect(Schema.decodeUnknownSync(DpEventFromJson)(json)).toEqual(e)
    expect(() => Schema.decodeUnknownSync(DpEvent)({ _tag: "PoissonSampledGaussianEvent", samplingRate: 1.5, noiseMultiplier: 1, neighbouring: "add_remove" })).toThrow()
    expect(() => Schema.decodeUnknownSync(DpEvent)({ _tag: "GaussianEvent", noiseMultiplier: 1, neighbouring: "both" })).toThrow()
    expect(() => Schema.decodeUnknownSync(DpEvent)({ _tag: "SelfComposedEvent", event: gaussian(1), count: 1.5 })).toThrow()
    expect(() => Schema.decodeUnknownSync(DpEvent)({ _tag: "TruncatedPoissonSampledGaussianEvent", datasetSize: 0, batchCap: 5, samplingRate: 0.1, noiseMultiplier: 1, neighbouring: "add_remove" })).toThrow()
  })
})
