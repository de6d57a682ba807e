/**
 * The Gaussian step's arithmetic with a given noise vector: (sum + noise) / (q N), cast to
 * float32 only at the end (docs/privacy.md, P1); the draw is the keyed stream's ("noise",
 * step) Box-Muller sequence scaled by the std; a noise vector of the wrong length is refused.
 */
import { describe, expect, it } from "vitest"
import { privatizeGradient, stepNoise } from "@dpipe/engine/dp/noise"
import { keyedStream } from "@dpipe/random/keyed-random"

const key = new Uint8Array(32).fill(3)

describe("privatizeGradient", () => {
  it("adds the given noise in float64 and divides by the expected batch size", () => {
    const sum = Float64Array.from([1e8 + 1, -2, 0.5])
    const noise = Float64Array.from([-1e8, 4, 0.25])
    const g = privatizeGradient(sum, { key, step: 0, std: 1, expectedBatchSize: 4, noise })
    expect(Array.from(g)).toEqual([Math.fround(1 / 4), Math.fround(2 / 4), Math.fround(0.75 / 4)])
  })

  it("draws the step's noise from the keyed stream (\"noise\", step) when none is given", () => {
    const sum = new Float64Array(6)
    const g = privatizeGradient(sum, { key, step: 9, std: 0.5, expectedBatchSize: 2 })
    const expected = keyedStream(key, "noise", 9).fillGaussian(new Float64Array(6), 0.5)
    expect(Array.from(g)).toEqual(Array.from(expected, (x) => Math.fround(x / 2)))
    expect(Array.from(stepNoise(key, 9, new Float64Array(6), 0.5))).toEqual(Array.from(expected))
  })

  it("refuses a noise vector of another length", () => {
    expect(() => privatizeGradient(new Float64Array(3), { key, step: 0, std: 1, expectedBatchSize: 1, noise: new Float64Array(2) })).toThrow(/noise length differs from gradient length/)
  })
})
