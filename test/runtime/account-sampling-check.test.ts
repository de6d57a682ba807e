/**
 * The sampler check training's config and `pipeline account` share (samplingProblem):
 * a batch cap needs the dataset size, a cap below q*N is refused (docs/privacy.md, A2),
 * a cap at q*N and no cap pass; each refusal names its field and says why, word for word
 * what both print. In the mutation suites.
 */
import { describe, expect, it } from "vitest"
import { samplingProblem } from "@dpipe/stages/training-stages/config"

describe("the shared sampler check", () => {
  it("refuses a cap without N and a cap below q*N with their field and reason; passes a cap at q*N and no cap", () => {
    expect(samplingProblem({ samplingRate: 0.01, batchCap: 5 })).toEqual({
      path: ["datasetSize"],
      issue: "batchCap (truncated Poisson) needs the dataset size N the accountant assumes: set datasetSize"
    })
    expect(samplingProblem({ samplingRate: 0.01, datasetSize: 10_000, batchCap: 90 })).toEqual({
      path: ["batchCap"],
      issue: "the batch cap 90 is below the expected batch q*N = 100.0: most steps would be truncated and the truncated-Poisson epsilon explodes (docs/privacy.md, A2); use a cap well above q*N"
    })
    expect(samplingProblem({ samplingRate: 0.01, datasetSize: 10_000, batchCap: 100 })).toBeUndefined()
    expect(samplingProblem({ samplingRate: 0.01, datasetSize: 10_000 })).toBeUndefined()
    expect(samplingProblem({ samplingRate: 0.01 })).toBeUndefined()
  })
})
