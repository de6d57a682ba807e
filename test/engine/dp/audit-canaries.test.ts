import { describe, expect, it } from "vitest"
import { CanaryAuditor, planAuditCanaries } from "@dpipe/engine/dp/audit-canaries"
import { keyedStream } from "@dpipe/random/keyed-random"

const key = (b: number) => new Uint8Array(32).fill(b)

describe("white-box gradient canaries for the one-run audit", () => {
  it("are a pure function of the key: distinct coordinates, each included with probability 1/2 (4 standard errors)", () => {
    const a = planAuditCanaries(key(1), 4000, 50_000)
    const b = planAuditCanaries(key(1), 4000, 50_000)
    expect(Array.from(a.coordinates)).toEqual(Array.from(b.coordinates))
    expect(a.included).toEqual(b.included)
    expect(new Set(a.coordinates).size).toBe(4000)
    for (const c of a.coordinates) expect(c >= 0 && c < 50_000).toBe(true)
    const inc = a.included.filter(Boolean).length
    expect(Math.abs(inc - 2000)).toBeLessThan(4 * Math.sqrt(4000 * 0.25))
    expect(planAuditCanaries(key(2), 4000, 50_000).included).not.toEqual(a.included)
    expect(() => planAuditCanaries(key(1), 11, 10)).toThrow(/distinct coordinates/)
  })

  it("adds C at an included canary's coordinate in a fraction q of the steps, never an excluded one's", () => {
    const plan = planAuditCanaries(key(3), 200, 1000)
    const q = 0.1
    const auditor = new CanaryAuditor(plan, key(3), q, 2.5)
    const T = 400
    let added = 0
    const totals = new Float64Array(1000)
    for (let t = 0; t < T; t++) {
      const sum = new Float64Array(1000)
      added += auditor.addToSum(t, sum)
      for (let i = 0; i < 1000; i++) totals[i] = (totals[i] as number) + (sum[i] as number)
    }
    const inc = plan.included.filter(Boolean).length
    const expected = inc * T * q
    expect(Math.abs(added - expected)).toBeLessThan(4 * Math.sqrt(inc * T * q * (1 - q)))
    plan.coordinates.forEach((c, j) => {
      expect(totals[c]).toBeCloseTo(2.5 * (auditor.appearances[j] as number), 9)
      if (!plan.included[j]) expect(auditor.appearances[j]).toBe(0)
    })
    // the same step adds the same canaries (keyed by step)
    const again = new CanaryAuditor(plan, key(3), q, 2.5)
    const s1 = new Float64Array(1000)
    const s2 = new Float64Array(1000)
    auditor.addToSum(7, s1)
    again.addToSum(7, s2)
    expect(Array.from(s1)).toEqual(Array.from(s2))
  })

  it("the likelihood score separates in from out under DP-like noise, and does not on pure noise", () => {
    const m = 400
    const plan = planAuditCanaries(key(4), m, 10_000)
    const q = 0.05
    const T = 200
    const sigma = 0.3 // a sampled canary is a spike of 1/sigma = 3.3 noise standard deviations, ~10 per canary
    const auditor = new CanaryAuditor(plan, key(4), q, 1)
    const noise = keyedStream(key(9), "test-noise", 0)
    for (let t = 0; t < T; t++) {
      const sum = new Float64Array(10_000)
      auditor.addToSum(t, sum)
      const grad = new Float32Array(10_000)
      for (let i = 0; i < grad.length; i++) grad[i] = (sum[i] as number) + sigma * noise.gaussian() + 0.3 // drift the median absorbs
      auditor.observe(t, grad)
    }
    const scores = auditor.likelihoodScores((tau) => tau / sigma)
    // AUC of the scores for in vs out
    let wins = 0
    let pairs = 0
    for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) if (plan.included[i] && !plan.included[j]) (pairs++, (wins += (scores[i] as number) > (scores[j] as number) ? 1 : 0))
    expect(wins / pairs).toBeGreaterThan(0.9)
    // without canaries the score carries no information (AUC near 1/2)
    const blank = new CanaryAuditor(plan, key(4), q, 1)
    for (let t = 0; t < T; t++) {
      const grad = new Float32Array(10_000)
      for (let i = 0; i < grad.length; i++) grad[i] = sigma * noise.gaussian()
      blank.observe(t, grad)
    }
    const s0 = blank.likelihoodScores((tau) => tau / sigma)
    wins = 0
    pairs = 0
    for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) if (plan.included[i] && !plan.included[j]) (pairs++, (wins += (s0[i] as number) > (s0[j] as number) ? 1 : 0))
    expect(Math.abs(wins / pairs - 0.5)).toBeLessThan(0.1)
  })
})
