/** Multilinear interpolation on a rectilinear grid: exact on multilinear functions, NaN outside. */
import { describe, expect, it } from "vitest"
import { fillInteriorGaps, interpolate1d, interpolateGrid, locate } from "@dpipe/scaling"

describe("grid interpolation", () => {
  it("reproduces a multilinear function exactly on a non-uniform 3-d grid", () => {
    const axes = [
      [0, 1, 3],
      [-2, 0.5, 1, 4],
      [1, 2]
    ]
    const f = (x: number, y: number, z: number) => 1 + 2 * x - y + 0.5 * z + 0.25 * x * y - x * y * z
    const values: Array<number> = []
    for (const x of axes[0]!) for (const y of axes[1]!) for (const z of axes[2]!) values.push(f(x, y, z))
    for (const [x, y, z] of [[0.3, -1, 1.5], [2.9, 3.9, 1], [0, -2, 2], [3, 4, 2], [1, 0.75, 1.25]] as const)
      expect(interpolateGrid(axes, values, [x, y, z])).toBeCloseTo(f(x, y, z), 12)
  })

  it("is NaN outside the grid and next to a NaN corner, but not at a NaN corner with zero weight", () => {
    const axes = [[0, 1, 2]]
    expect(interpolateGrid(axes, [1, 2, 3], [2.5])).toBeNaN()
    expect(interpolateGrid(axes, [1, 2, 3], [-0.1])).toBeNaN()
    expect(interpolateGrid(axes, [1, Number.NaN, 3], [0.5])).toBeNaN()
    expect(interpolateGrid(axes, [1, 2, Number.NaN], [1])).toBe(2)
    expect(interpolate1d([0, 1, 2], [1, 2, 3], 1.5)).toBe(2.5)
  })

  it("a one-point axis matches only its own value", () => {
    expect(interpolateGrid([[5], [0, 1]], [10, 20], [5, 0.5])).toBe(15)
    expect(interpolateGrid([[5], [0, 1]], [10, 20], [5.1, 0.5])).toBeNaN()
    expect(locate([5], 5)).toEqual({ index: 0, t: 0 })
  })

  it("fills interior gaps linearly in x and leaves the ends", () => {
    const out = fillInteriorGaps([0, 1, 3, 4, 5], [Number.NaN, 1, Number.NaN, 4, Number.NaN])
    expect(out[0]).toBeNaN()
    expect(out[2]).toBeCloseTo(1 + (3 * 2) / 3, 12)
    expect(out[4]).toBeNaN()
  })
})
