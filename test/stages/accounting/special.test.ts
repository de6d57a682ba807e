import { describe, expect, it } from "vitest"
import { erfc, logErfc, logGamma, normalCdf } from "@dpipe/stages/accounting/special"

// Reference values: scipy.special.erfc (Cephes), which is accurate to a few ulp.
describe("special functions", () => {
  it("erfc matches published values to 5e-14 relative", () => {
    const cases: ReadonlyArray<readonly [number, number]> = [
      [0, 1],
      [0.5, 0.4795001221869535],
      [1, 0.15729920705028516],
      [-1, 1.8427007929497148],
      [1.9, 0.007209570764742531],
      [2.5, 4.0695201744495886e-4],
      [5, 1.5374597944280347e-12],
      [10, 2.0884875837625446e-45]
    ]
    for (const [x, v] of cases) expect(Math.abs(erfc(x) - v) / v).toBeLessThan(5e-14)
    expect(Math.abs(logErfc(30) - -903.974117110644)).toBeLessThan(1e-9)
    expect(normalCdf(-1.5)).toBeCloseTo(0.06680720126885807, 15)
  })
  it("log Gamma matches log factorials and Gamma(1/2)", () => {
    expect(logGamma(11)).toBeCloseTo(Math.log(3628800), 12)
    expect(logGamma(0.5)).toBeCloseTo(0.5 * Math.log(Math.PI), 13)
    expect(logGamma(-0.5)).toBeCloseTo(Math.log(2 * Math.sqrt(Math.PI)), 12)
  })
})
