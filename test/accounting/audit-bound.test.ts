import { describe, expect, it } from "vitest"
import { binomialPmf, oneRunAudit, oneRunEpsilonLowerBound, oneRunPValue } from "@dpipe/accounting/audit-bound"

/**
 * An independent evaluation of Corollary 5.4 of Steinke, Nasr and Jagielski 2023: the binomial
 * pmf by the multiplicative recurrence (no log-gamma), the tail and alpha by explicit sums.
 */
const naivePmf = (r: number, q: number): Array<number> => {
  // the recurrence in log space, so that (1 - q)^r does not underflow at large epsilon
  const logs: Array<number> = [r * Math.log(1 - q)]
  for (let k = 0; k < r; k++) logs.push((logs[k] as number) + Math.log((r - k) / (k + 1)) + Math.log(q / (1 - q)))
  return logs.map(Math.exp)
}
const naivePValue = (m: number, r: number, v: number, eps: number, delta: number): number => {
  const q = Math.exp(eps) / (1 + Math.exp(eps))
  const pmf = naivePmf(r, q)
  let tail = 0
  for (let k = v; k <= r; k++) tail += pmf[k] as number
  let alpha = 0
  for (let i = 1; i <= v; i++) {
    let s = 0
    for (let j = v - i; j < v; j++) s += pmf[j] as number
    alpha = Math.max(alpha, s / i)
  }
  return Math.min(1, tail + alpha * delta * 2 * m)
}
/** Root of p(eps) = beta by 200 bisection steps on [0, 50]. */
const naiveRoot = (m: number, r: number, v: number, delta: number, beta: number): number => {
  if (naivePValue(m, r, v, 0, delta) >= beta) return 0
  let lo = 0
  let hi = 50
  for (let i = 0; i < 200; i++) {
    const mid = (lo + hi) / 2
    if (naivePValue(m, r, v, mid, delta) < beta) lo = mid
    else hi = mid
  }
  return lo
}

describe("one-run audit bound (Steinke, Nasr, Jagielski 2023, Corollary 5.4 and Appendix D)", () => {
  it("binomial pmf sums to 1 and equals the recurrence", () => {
    for (const [r, q] of [[10, 0.3], [200, 0.88], [1000, 0.5]] as const) {
      const a = binomialPmf(r, q)
      const b = naivePmf(r, q)
      expect(a.reduce((s, x) => s + x, 0)).toBeCloseTo(1, 10)
      for (let k = 0; k <= r; k++) expect(Math.abs((a[k] as number) - (b[k] as number))).toBeLessThan(1e-12 + 1e-9 * (b[k] as number))
    }
  })

  it("all r guesses right and delta 0: the bound is the closed form log(q/(1-q)), q = beta^(1/r)", () => {
    for (const [r, beta] of [[10, 0.05], [100, 0.05], [1000, 0.01]] as const) {
      const q = Math.pow(beta, 1 / r)
      const closed = Math.log(q / (1 - q))
      const got = oneRunEpsilonLowerBound(r, r, r, 0, beta)
      expect(got).toBeLessThanOrEqual(closed + 1e-12)
      expect(closed - got).toBeLessThan(1e-9)
    }
    // r = 100, 95% confidence: at most log(0.97049/0.02951) = 3.493
    expect(oneRunEpsilonLowerBound(1000, 100, 100, 0, 0.05)).toBeCloseTo(3.4931, 3)
  })

  it("p-values and bounds equal an independent evaluation, delta > 0 included", () => {
    const cases: Array<[number, number, number, number]> = [
      [1000, 100, 90, 1e-5],
      [1000, 200, 150, 1e-6],
      [100, 50, 40, 1e-3],
      [5000, 500, 400, 1e-5],
      [1000, 100, 55, 0]
    ]
    for (const [m, r, v, delta] of cases) {
      for (const eps of [0, 0.5, 1, 2, 4]) {
        const a = oneRunPValue(m, r, v, eps, delta)
        const b = naivePValue(m, r, v, eps, delta)
        expect(Math.abs(a - b)).toBeLessThan(1e-12 + 1e-8 * b)
      }
      const got = oneRunEpsilonLowerBound(m, r, v, delta, 0.05)
      const want = naiveRoot(m, r, v, delta, 0.05)
      expect(got).toBeLessThanOrEqual(want + 1e-9)
      expect(want - got).toBeLessThan(1e-8)
    }
  })

  it("is monotone: more correct guesses raise it, a larger delta or confidence lowers it; chance-level guessing gives 0", () => {
    const b = (v: number, delta = 1e-5, beta = 0.05) => oneRunEpsilonLowerBound(1000, 100, v, delta, beta)
    expect(b(95)).toBeGreaterThan(b(90))
    expect(b(90)).toBeGreaterThan(b(80))
    expect(b(90, 1e-3)).toBeLessThan(b(90, 1e-6))
    expect(b(90, 1e-5, 0.01)).toBeLessThan(b(90, 1e-5, 0.05))
    expect(b(50)).toBe(0)
    expect(b(55)).toBe(0)
    // the delta term matters: with delta 2/m-ish the same guesses certify much less
    expect(oneRunEpsilonLowerBound(1000, 100, 100, 1e-3, 0.05)).toBeLessThan(oneRunEpsilonLowerBound(1000, 100, 100, 0, 0.05))
  })

  it("guesses the k+ highest scores in and the k- lowest out; refuses bad counts", () => {
    const m = 200
    const included = Array.from({ length: m }, (_, i) => i % 2 === 0)
    const scores = included.map((inc, i) => (inc ? 10 + i : -i))
    const a = oneRunAudit({ scores, included, kPlus: 50, kMinus: 50, delta: 1e-5, beta: 0.05 })
    expect(a.correct).toBe(100)
    expect(a.included).toBe(100)
    expect(a.epsilonLowerBound).toBeCloseTo(oneRunEpsilonLowerBound(m, 100, 100, 1e-5, 0.05), 12)
    // reversed scores: every guess wrong, no bound
    const wrong = oneRunAudit({ scores: scores.map((s) => -s), included, kPlus: 50, kMinus: 50, delta: 1e-5, beta: 0.05 })
    expect(wrong.correct).toBe(0)
    expect(wrong.epsilonLowerBound).toBe(0)
    expect(() => oneRunAudit({ scores, included, kPlus: 150, kMinus: 60, delta: 1e-5, beta: 0.05 })).toThrow(/at most the 200 canaries/)
    expect(() => oneRunEpsilonLowerBound(10, 5, 6, 0, 0.05)).toThrow(/correct \(6\) <= guesses \(5\)/)
    expect(() => oneRunEpsilonLowerBound(10, 5, 5, 0, 1)).toThrow(/beta/)
  })
})
