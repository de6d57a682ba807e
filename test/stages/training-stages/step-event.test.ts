/**
 * The training config's DP event, against literal events (docs/privacy.md, P3): what the
 * ledger records must be the event the sampler implements, truncated Poisson exactly when
 * a batch cap is set, with the config's neighbouring relation; and the config refuses a cap
 * without N or below q*N.
 */
import { describe, expect, it } from "vitest"
import { Schema } from "effect"
import { stepEvent, TrainConfig, trainingEvent } from "@dpipe/stages/training-stages/config"

const model = { dModel: 32, layers: 1, heads: 2, kvHeads: 1, headDim: 16, ffnDim: 64 }
const decode = (c: Record<string, unknown>) => Schema.decodeUnknownSync(TrainConfig)({ model, steps: 40, samplingRate: 0.01, clipNorm: 0.5, noiseMultiplier: 1.3, ...c })

describe("training config DP event", () => {
  it("plain Poisson without a cap (with or without a declared N), add/remove by default", () => {
    const poisson = { _tag: "PoissonSampledGaussianEvent", samplingRate: 0.01, noiseMultiplier: 1.3, neighbouring: "add_remove" }
    expect(stepEvent(decode({}))).toEqual(poisson)
    expect(stepEvent(decode({ datasetSize: 5000 }))).toEqual(poisson)
    expect(trainingEvent(decode({}))).toEqual({ _tag: "SelfComposedEvent", event: poisson, count: 40 })
    expect(trainingEvent(decode({}), 7)).toEqual({ _tag: "SelfComposedEvent", event: poisson, count: 7 })
    expect(stepEvent(decode({ neighbouring: "replace_one" }))).toEqual({ ...poisson, neighbouring: "replace_one" })
  })

  it("truncated Poisson with a cap and N", () => {
    expect(stepEvent(decode({ datasetSize: 5000, batchCap: 80 }))).toEqual({
      _tag: "TruncatedPoissonSampledGaussianEvent", datasetSize: 5000, batchCap: 80, samplingRate: 0.01, noiseMultiplier: 1.3, neighbouring: "add_remove"
    })
  })

  it("refuses a cap without N, a cap below q*N, and non-positive sigma, C or q", () => {
    expect(() => decode({ batchCap: 80 })).toThrow(/datasetSize/)
    expect(() => decode({ datasetSize: 5000, batchCap: 49 })).toThrow(/below the expected batch q\*N = 50\.0/)
    expect(decode({ datasetSize: 5000, batchCap: 50 }).batchCap).toBe(50)
    for (const bad of [{ noiseMultiplier: 0 }, { clipNorm: 0 }, { samplingRate: 0 }, { samplingRate: 1.5 }, { steps: 0 }]) expect(() => decode(bad)).toThrow()
  })
})
