/**
 * Convolution with guaranteed elementwise upper bounds: against exact convolutions computed
 * directly (non-negative terms: relative error ~n u), for operands where the FFT's rounding
 * would otherwise show (a plateau with tails 1e-18 below it), spiky ones (head convolved
 * directly) and plain ones.
 */
import { describe, expect, it } from "vitest"
import { directConvolution as direct, uniformArray as random } from "./helpers.ts"
import { convolveUpper } from "@dpipe/accounting/upper-convolution"



describe("convolution upper bounds", () => {
  /** A spike with tails spanning 40 orders of magnitude (like a tilted PLD). */
  const spiky = (n: number, seed: number): Float64Array => {
    const u = random(n, seed)
    const x = new Float64Array(n)
    for (let i = 0; i < n; i++) x[i] = Math.exp(-40 * Math.abs(u[i]! + 0.5) - (i % 97 === 0 ? 0 : 10)) * (0.5 + Math.abs(u[i]!))
    x[Math.floor(n / 3)] = 1
    return x
  }
  /** A wide plateau (no head to split off) with tails 1e-18 below it: FFT noise swamps them. */
  const plateau = (n: number, seed: number): Float64Array => {
    const u = random(n, seed)
    return Float64Array.from(u, (v, i) => (i > n / 4 && i < n / 2 ? 0.5 + v : 1e-18 * (0.5 + v)))
  }
  const cases: ReadonlyArray<readonly [string, (n: number, s: number) => Float64Array]> = [
    ["uniform", (n, s) => random(n, s).map((v) => v + 0.5)],
    ["spiky", spiky],
    ["plateau with deep tails", plateau]
  ]
  for (const [name, make] of cases) {
    it(`dominate the exact convolution entrywise (${name} operands, squaring and product)`, () => {
      const a0 = make(3000, 1)
      const a1 = make(1200, 2)
      const b0 = make(2500, 3)
      const b1 = make(2900, 4)
      const checks: Array<readonly [Float64Array, Float64Array]> = []
      const sq = convolveUpper([a0, a1], "square")
      checks.push([sq.upper[0], direct(a0, a0)], [sq.upper[1], direct(a1, a1)])
      const pr = convolveUpper([a0, a1], [b0, b1])
      checks.push([pr.upper[0], direct(a0, b0)], [pr.upper[1], direct(a1, b1)])
      for (const [upper, exact] of checks) {
        expect(upper.length).toBe(exact.length)
        let below = 0
        let slack = 0
        for (let i = 0; i < exact.length; i++) {
          const c = exact[i]!
          // the direct sum is itself within 1e-12 (relative) of the exact value
          if (upper[i]! < c * (1 - 1e-12)) below++
          slack = Math.max(slack, upper[i]! - c)
        }
        expect(below).toBe(0)
        // and not absurdly loose: within a few rounding bounds of the exact values
        expect(slack).toBeLessThanOrEqual(4 * Math.max(sq.roundingBound, pr.roundingBound) + 1e-12)
      }
    })
  }
})
