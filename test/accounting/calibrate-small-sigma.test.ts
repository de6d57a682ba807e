/**
 * Calibration where the PLD accountant used to fail (small noise multipliers; see
 * pld-small-sigma.test.ts). How long it takes is a benchmark figure (`pnpm bench
 * accounting`), not a test assertion.
 */
import { describe, expect, it } from "vitest"
import { Result } from "effect"
import { poissonSampledGaussian, selfComposed } from "@dpipe/accounting/events"
import { calibrateNoiseMultiplier, epsilonOf } from "@dpipe/accounting/calibrate"

const DELTA = 1e-6

describe("PLD calibration at small noise multipliers", () => {
  for (const [q, t] of [[0.0015, 20], [0.0015, 150], [0.004, 1000]] as const) {
    it(`q=${q}, T=${t}, eps 8, delta 1e-6: sigma is valid and within 1e-3 of the boundary`, () => {
      const r = Result.getOrThrow(
        calibrateNoiseMultiplier({ accountant: "pld", mechanism: { samplingRate: q }, steps: t, epsilon: 8, delta: DELTA })
      )
      const at = (s: number) => Result.getOrThrow(epsilonOf("pld", selfComposed(poissonSampledGaussian(q, s), t), DELTA))
      expect(r.epsilon).toBeLessThanOrEqual(8)
      expect(at(r.noiseMultiplier)).toBeLessThanOrEqual(8)
      expect(at(r.noiseMultiplier * (1 - 1e-3))).toBeGreaterThan(8)
    }, 60_000)
  }
})
