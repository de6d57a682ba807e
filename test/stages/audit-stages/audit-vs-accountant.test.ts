/**
 * The one-run audit against the accountant on a mechanism whose epsilon is known exactly:
 * each canary's coordinate receives, at each of T steps, 1 if the canary is in the data and
 * Poisson-sampled at rate q, plus N(0, sigma^2) noise: the Poisson-subsampled Gaussian that
 * DP-SGD composes, seen white-box. The audit's lower bound must stay below the PLD epsilon,
 * and at small sigma it must be clearly positive (the audit is not vacuous). Measured: sigma
 * 0.5 (PLD epsilon 35.3): lower bounds 1.26, 1.92, 1.92; sigma 1 (8.06): 0, 0.09, 0.
 */
import { describe, expect, it } from "vitest"
import { Result } from "effect"
import { oneRunAudit } from "@dpipe/accounting/audit-bound"
import { poissonSampledGaussian, selfComposed } from "@dpipe/accounting/events"
import { pldEpsilon } from "@dpipe/accounting/pld-accountant"
import { CanaryAuditor, planAuditCanaries } from "@dpipe/engine/dp/audit-canaries"
import { keyedStream } from "@dpipe/random/keyed-random"

const audit = (seed: number, q: number, T: number, sigma: number) => {
  const m = 1000
  const key = new Uint8Array(32).fill(seed)
  const plan = planAuditCanaries(key, m, m)
  const auditor = new CanaryAuditor(plan, key, q, 1)
  const noise = keyedStream(key, "test-noise", 0)
  for (let t = 0; t < T; t++) {
    const sum = new Float64Array(m)
    auditor.addToSum(t, sum)
    const released = new Float32Array(m)
    for (let i = 0; i < m; i++) released[i] = (sum[i] as number) + sigma * noise.gaussian()
    auditor.observe(t, released)
  }
  return oneRunAudit({ scores: auditor.likelihoodScores((tau) => tau / sigma), included: plan.included, kPlus: 100, kMinus: 0, delta: 1e-6, beta: 0.05 })
}

describe("one-run audit of the subsampled Gaussian", () => {
  it("never exceeds the PLD epsilon, and is clearly positive when the noise is small", () => {
    const q = 0.1
    const T = 100
    for (const sigma of [0.5, 1.0]) {
      const upper = Result.getOrThrow(pldEpsilon(selfComposed(poissonSampledGaussian(q, sigma), T), 1e-6)).epsilon
      const lowers = [1, 2, 3].map((seed) => audit(seed, q, T, sigma).epsilonLowerBound)
      for (const l of lowers) expect(l).toBeLessThanOrEqual(upper)
      if (sigma === 0.5) expect(Math.max(...lowers)).toBeGreaterThan(1)
    }
  })
})
