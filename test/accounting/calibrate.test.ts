import { describe, expect, it } from "vitest"
import { Result } from "effect"
import { calibrateNoiseMultiplier, calibrateSteps, epsilonOf } from "@dpipe/accounting/calibrate"
import { poissonSampledGaussian, selfComposed } from "@dpipe/accounting/events"

describe("calibration", () => {
  it("PLD: sigma for epsilon=1 at q=0.1, T=512, delta=1e-6 is ~9.66 and conservative", () => {
    const r = Result.getOrThrow(
      calibrateNoiseMultiplier({ accountant: "pld", mechanism: { samplingRate: 0.1 }, steps: 512, epsilon: 1, delta: 1e-6, relTol: 1e-3 })
    )
    expect(Math.abs(r.noiseMultiplier - 9.66)).toBeLessThan(0.02)
    expect(r.epsilon).toBeLessThanOrEqual(1)
  }, 60_000)

  it("PLD: T for epsilon=2 at q=0.1, sigma=3, delta=1e-6 is 155", () => {
    const r = Result.getOrThrow(
      calibrateSteps({ accountant: "pld", mechanism: { samplingRate: 0.1 }, noiseMultiplier: 3, epsilon: 2, delta: 1e-6 })
    )
    expect(r.steps).toBe(155)
  }, 60_000)

  it("RDP: calibrated sigma achieves epsilon <= target and a slightly smaller sigma does not", () => {
    const r = Result.getOrThrow(
      calibrateNoiseMultiplier({ accountant: "rdp", mechanism: { samplingRate: 0.01 }, steps: 10_000, epsilon: 2, delta: 1e-5 })
    )
    const at = (s: number) => Result.getOrThrow(epsilonOf("rdp", selfComposed(poissonSampledGaussian(0.01, s), 10_000), 1e-5))
    expect(at(r.noiseMultiplier)).toBeLessThanOrEqual(2)
    expect(at(r.noiseMultiplier * (1 - 3e-4))).toBeGreaterThan(2)
  })

  it("rejects an invalid target with a typed error naming the parameter", () => {
    const r = calibrateNoiseMultiplier({ accountant: "rdp", mechanism: { samplingRate: 0.01 }, steps: 10, epsilon: 1, delta: 2 })
    expect(Result.isFailure(r) && r.failure._tag === "InvalidAccountingParameterError" && r.failure.parameter).toBe("delta")
  })
})
