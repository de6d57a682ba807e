/**
 * RDP to (epsilon, delta) conversions at their edges, against the formulas written out
 * here (Mironov 2017, Prop. 3; Balle et al. 2020, Prop. 12; the KL bound
 * delta <= sqrt(1 - e^{-rdp})), independently of rdp-conversion.ts: which orders are
 * skipped, which branch applies near alpha = 1, ties and the reported order.
 */
import { describe, expect, it } from "vitest"
import { deltaFromRdp, epsilonFromRdp } from "@dpipe/accounting/rdp-conversion"

const improvedEps = (a: number, r: number, delta: number) => r + Math.log1p(-1 / a) - Math.log(delta * a) / (a - 1)
const classicEps = (a: number, r: number, delta: number) => r + Math.log(1 / delta) / (a - 1)
const improvedLogDelta = (a: number, r: number, eps: number) => (a - 1) * (r - eps + Math.log1p(-1 / a)) - Math.log(a)

describe("epsilonFromRdp", () => {
  it("is the improved conversion by default and the minimum over orders", () => {
    const orders = [2, 4, 8, 16], rdp = [0.2, 0.5, 1.2, 3], delta = 1e-5
    const expected = Math.min(...orders.map((a, k) => improvedEps(a, rdp[k]!, delta)))
    const r = epsilonFromRdp(orders, rdp, delta)
    expect(r.epsilon).toBeCloseTo(expected, 12)
    expect(r.order).toBe(orders[orders.map((a, k) => improvedEps(a, rdp[k]!, delta)).indexOf(expected)])
    const classic = epsilonFromRdp(orders, rdp, delta, "classic")
    expect(classic.epsilon).toBeCloseTo(Math.min(...orders.map((a, k) => classicEps(a, rdp[k]!, delta))), 12)
    expect(classic.epsilon).toBeGreaterThan(r.epsilon)
  })

  it("skips orders below 1 and negative, NaN or infinite RDP values", () => {
    // without the skip, order 0.5 (or a negative RDP) would give epsilon 0 by the KL branch
    expect(epsilonFromRdp([0.5, 2], [0, 1], 1e-5).epsilon).toBeCloseTo(improvedEps(2, 1, 1e-5), 12)
    expect(epsilonFromRdp([2, 3], [-1, 1], 1e-5).order).toBe(3)
    expect(epsilonFromRdp([2, 3], [Number.NaN, 1], 1e-5).epsilon).toBeCloseTo(improvedEps(3, 1, 1e-5), 12)
    // nothing usable: infinite epsilon, reported at the first order
    const none = epsilonFromRdp([2, 3], [Infinity, Infinity], 1e-5)
    expect(none.epsilon).toBe(Infinity)
    expect(none.order).toBe(2)
  })

  it("gives 0 where the KL bound already holds (RDP 0, or tiny), and keeps the first of tied orders", () => {
    const zero = epsilonFromRdp([2, 3], [0, 0], 1e-5)
    expect(zero).toEqual({ epsilon: 0, order: 2 })
    // rdp 1e-12: delta^2 + expm1(-rdp) = 1e-10 - 1e-12 > 0, so epsilon 0 (the formula alone gives ~10)
    expect(epsilonFromRdp([2, 3], [1e-12, 1e-12], 1e-5).epsilon).toBe(0)
    // order 1 counts for the KL branch
    expect(epsilonFromRdp([1, 2], [1e-12, 5], 1e-5)).toEqual({ epsilon: 0, order: 1 })
  })

  it("uses the improved formula only above alpha = 1.01, and classic order 1 is infinite", () => {
    expect(epsilonFromRdp([1.005], [0.5], 1e-5).epsilon).toBe(Infinity)
    expect(epsilonFromRdp([1.01], [0.5], 1e-5).epsilon).toBe(Infinity)
    expect(epsilonFromRdp([1.02], [0.5], 1e-5).epsilon).toBeCloseTo(improvedEps(1.02, 0.5, 1e-5), 10)
    expect(epsilonFromRdp([1, 2], [0.5, 0.5], 1e-5, "classic")).toEqual({ epsilon: classicEps(2, 0.5, 1e-5), order: 2 })
  })
})

describe("deltaFromRdp", () => {
  it("is the improved conversion by default and the minimum over orders", () => {
    const orders = [2, 4, 8], rdp = [0.2, 0.5, 1.2], eps = 3
    const logs = orders.map((a, k) => Math.min(0.5 * Math.log1p(-Math.exp(-rdp[k]!)), improvedLogDelta(a, rdp[k]!, eps)))
    const r = deltaFromRdp(orders, rdp, eps)
    expect(r.delta).toBeCloseTo(Math.exp(Math.min(...logs)), 14)
    expect(r.order).toBe(orders[logs.indexOf(Math.min(...logs))])
    const classic = deltaFromRdp(orders, rdp, eps, "classic")
    expect(classic.delta).toBeCloseTo(Math.min(...orders.map((a, k) => Math.exp((a - 1) * (rdp[k]! - eps)))), 14)
  })

  it("takes the KL bound sqrt(1 - e^-rdp) where it is smaller", () => {
    const r = 1e-6
    expect(deltaFromRdp([2], [r], 0).delta).toBeCloseTo(Math.sqrt(-Math.expm1(-r)), 12)
    // below alpha 1.01 only the KL bound applies
    expect(deltaFromRdp([1.005], [0.5], 2).delta).toBeCloseTo(Math.sqrt(-Math.expm1(-0.5)), 12)
    expect(deltaFromRdp([1.01], [0.5], 2).delta).toBeCloseTo(Math.sqrt(-Math.expm1(-0.5)), 12)
    // even where the improved formula would be far smaller (epsilon 1000), as dp_accounting does
    expect(Math.exp(improvedLogDelta(1.005, 0.5, 1000))).toBeLessThan(0.01)
    expect(deltaFromRdp([1.005], [0.5], 1000).delta).toBeCloseTo(Math.sqrt(-Math.expm1(-0.5)), 12)
    expect(deltaFromRdp([1.01], [0.5], 1000).delta).toBeCloseTo(Math.sqrt(-Math.expm1(-0.5)), 12)
    expect(deltaFromRdp([1.02], [0.5], 1000).delta).toBeCloseTo(Math.exp(improvedLogDelta(1.02, 0.5, 1000)), 14)
  })

  it("skips unusable orders, reports the first order when nothing applies, keeps the first of ties", () => {
    expect(deltaFromRdp([0.5, 2], [0, 1], 1).delta).toBeCloseTo(Math.exp(Math.min(0.5 * Math.log1p(-Math.exp(-1)), improvedLogDelta(2, 1, 1))), 14)
    expect(deltaFromRdp([2, 3], [-1, 1], 1).order).toBe(3)
    expect(deltaFromRdp([2, 3], [Infinity, Infinity], 1)).toEqual({ delta: 1, order: 2 })
    expect(deltaFromRdp([2, 3], [0, 0], 1)).toEqual({ delta: 0, order: 2 })
    // classic: order 1 is unusable, so the order reported is the one that applied
    expect(deltaFromRdp([2, 1], [5, 5], 1, "classic")).toEqual({ delta: 1, order: 2 })
    // classic: a negative RDP value is skipped (the classic formula would accept it)
    expect(deltaFromRdp([2, 3], [-1, 1], 1, "classic")).toEqual({ delta: 1, order: 3 })
    // order 1 itself is usable: the KL bound applies there
    expect(deltaFromRdp([1], [0.5], 2).delta).toBeCloseTo(Math.sqrt(-Math.expm1(-0.5)), 12)
  })
})
