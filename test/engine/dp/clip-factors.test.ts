/**
 * Clip factors c_i = min(1, C / ||G_i||) (Abadi et al. 2016) from squared norms, written out
 * here: a norm exactly at C is not clipped, a norm above is scaled to C, a non-finite norm
 * gets factor 0 and is counted, a tiny negative rounding of a squared norm is 0.
 */
import { describe, expect, it } from "vitest"
import { clipFactors } from "@dpipe/engine/dp/clip"

describe("clip factors", () => {
  it("min(1, C/||g||) with counts and norms", () => {
    const sq = new Float32Array([0, 0.25, 4, 9, 100, -1e-12, Number.NaN, Number.NEGATIVE_INFINITY])
    const f = clipFactors(sq, 2)
    expect(Array.from(f.c)).toEqual([1, 1, 1, Math.fround(2 / 3), Math.fround(2 / 10), 1, 0, 0])
    expect(Array.from(f.norms).slice(0, 6)).toEqual([0, 0.5, 2, 3, 10, 0])
    expect(Number.isNaN(f.norms[6]!) && Number.isNaN(f.norms[7]!)).toBe(true)
    expect(f.clipped).toBe(2)
    expect(f.nonFinite).toBe(2)
  })

  it("an empty batch has no factors", () => {
    expect(clipFactors(new Float32Array(0), 1)).toEqual({ c: new Float32Array(0), norms: new Float32Array(0), clipped: 0, nonFinite: 0 })
  })
})
