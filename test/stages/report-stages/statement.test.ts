import { describe, expect, it } from "vitest"
import { Result, Schema } from "effect"
import { poissonSampledGaussian, selfComposed, truncatedPoissonSampledGaussian } from "@dpipe/accounting/events"
import { pldEpsilon } from "@dpipe/accounting/pld-accountant"
import { DEFAULT_RDP_ORDERS, rdpOfEvent } from "@dpipe/accounting/rdp"
import { epsilonFromRdp } from "@dpipe/accounting/rdp-conversion"
import { computeStatement, formatDelta, formatEpsilon, PrivacyStatement } from "@dpipe/stages/report-stages/index"
import { poissonPlan, truncatedPlan } from "./fixtures.ts"

const ok = (r: ReturnType<typeof computeStatement>) => {
  if (Result.isFailure(r)) throw new Error(r.failure)
  return r.success
}

describe("privacy statement", () => {
  it("states the PLD and RDP epsilons of the event that ran, as `pipeline account` computes them", () => {
    const q = 0.02
    const sigma = 1.1
    const T = 40
    const delta = 1e-5
    const s = ok(computeStatement({ plan: poissonPlan({ q, sigma, steps: 50, stepsDone: T }), sequenceTokens: 128, delta, budgetEpsilon: 8 }))
    // Independent recomputation from the CLI's inputs (q, sigma, T, delta), not from the plan.
    const event = selfComposed(poissonSampledGaussian(q, sigma), T)
    const pld = Result.getOrThrow(pldEpsilon(event, delta)).epsilon
    const rdp = epsilonFromRdp(DEFAULT_RDP_ORDERS, Result.getOrThrow(rdpOfEvent(event)), delta)
    expect(s.epsilon).toBe(pld)
    expect(s.pld.epsilon).toBe(pld)
    expect(s.rdp).toEqual({ _tag: "Computed", epsilon: rdp.epsilon, order: rdp.order })
    expect(rdp.epsilon).toBeGreaterThanOrEqual(pld)
    expect(s.accountant).toBe("pld")
    expect(s.steps).toBe(T)
    expect(s.plannedSteps).toBe(50)
    expect(s.budget).toEqual({ epsilon: 8, withinBudget: true })
    expect(s.sampling).toEqual({ method: "poisson", samplingRate: q, expectedBatchSize: q * 1000, datasetSize: 1000 })
    expect(s.unit).toBe("sequence")
    expect(s.neighbouring).toBe("add_remove")
    // The paragraph names the unit, relation, mechanism and the same epsilon.
    expect(s.text).toContain(`epsilon = ${formatEpsilon(pld)}`)
    expect(s.text).toContain(`delta = ${formatDelta(delta)}`)
    expect(s.text).toContain("adding or removing one 128-token training sequence")
    expect(s.text).toContain("Training stopped after 40 of the 50 planned steps")
    expect(s.text).toContain(`sigma = 1.1`)
    // It is a valid JSON output (encodes and round-trips).
    const json = JSON.parse(JSON.stringify(Schema.encodeUnknownSync(PrivacyStatement)(s)))
    expect(Schema.decodeUnknownSync(PrivacyStatement)(json)).toEqual(s)
  })

  it("gives a PLD-only statement for truncated Poisson sampling, with the reason RDP is omitted", () => {
    // Small parameters: the truncated-Poisson PLD is costly (seconds per evaluation).
    const plan = truncatedPlan({ q: 0.1, sigma: 3, steps: 2, N: 20, cap: 6 })
    const s = ok(computeStatement({ plan, sequenceTokens: 64, delta: 1e-5 }))
    const event = selfComposed(truncatedPoissonSampledGaussian({ datasetSize: 20, batchCap: 6, samplingRate: 0.1, noiseMultiplier: 3 }), 2)
    expect(s.epsilon).toBe(Result.getOrThrow(pldEpsilon(event, 1e-5)).epsilon)
    expect(s.rdp._tag).toBe("Omitted")
    expect(s.rdp._tag === "Omitted" ? s.rdp.reason : "").toMatch(/truncated/)
    expect(s.sampling.batchCap).toBe(6)
    expect(s.sampling.method).toBe("truncated-poisson")
    expect(s.text).toContain("truncated to 6")
    expect(s.text).toContain("The RDP accountant gives no figure")
    expect(s.budget).toBeUndefined()
  })

  it("refuses a non-private plan, an inconsistent event and a bad delta with actionable messages", () => {
    const nonPrivate = { ...poissonPlan(), clipNorm: Number.POSITIVE_INFINITY, noiseMultiplier: 0, noiseStd: 0, event: null }
    const r1 = computeStatement({ plan: nonPrivate, sequenceTokens: 128, delta: 1e-5 })
    expect(Result.isFailure(r1) ? r1.failure : "").toMatch(/non-private run.*wire the `plan` output of the dp-train stage/)
    const lying = { ...poissonPlan({ sigma: 2 }), event: selfComposed(poissonSampledGaussian(0.02, 0.5), 40) }
    const r2 = computeStatement({ plan: lying, sequenceTokens: 128, delta: 1e-5 })
    expect(Result.isFailure(r2) ? r2.failure : "").toMatch(/is not the event its parameters describe/)
    const r3 = computeStatement({ plan: poissonPlan(), sequenceTokens: 128, delta: 2 })
    expect(Result.isFailure(r3) ? r3.failure : "").toMatch(/delta must be in \(0, 1\)/)
    const r4 = computeStatement({ plan: { ...poissonPlan(), event: { _tag: "Nonsense" } }, sequenceTokens: 128, delta: 1e-5 })
    expect(Result.isFailure(r4) ? r4.failure : "").toMatch(/not a DP event/)
  })

  it("says when the budget is exceeded, and states epsilon 0 for a run that took no step", () => {
    const s = ok(computeStatement({ plan: poissonPlan({ sigma: 0.8, steps: 30 }), sequenceTokens: 32, delta: 1e-5, budgetEpsilon: 0.1 }))
    expect(s.budget?.withinBudget).toBe(false)
    expect(s.text).toContain("EXCEEDS")
    const zero = ok(computeStatement({ plan: poissonPlan({ steps: 10, stepsDone: 0 }), sequenceTokens: 32, delta: 1e-5 }))
    expect(zero.epsilon).toBe(0)
    expect(zero.text).toContain("epsilon = 0 ")
  })

  it("formats epsilon and delta as everywhere in the report", () => {
    expect(formatEpsilon(1.0305978)).toBe("1.031")
    expect(formatEpsilon(0)).toBe("0")
    expect(formatEpsilon(0.00012)).toBe("1.20e-4")
    expect(formatDelta(1e-6)).toBe("1e-6")
    expect(formatDelta(1.1e-10)).toBe("1.1e-10")
  })
})
