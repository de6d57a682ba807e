import { describe, expect, it } from "vitest"
import { Effect, Result, Schema } from "effect"
import { composed, poissonSampledGaussian, privateSelection, selfComposed } from "@dpipe/accounting/events"
import { geometricTrials, poissonTrials } from "@dpipe/accounting/hyperparameter-selection"
import { pldEpsilon } from "@dpipe/accounting/pld-accountant"
import { DEFAULT_RDP_ORDERS, rdpOfEvent } from "@dpipe/accounting/rdp"
import { epsilonFromRdp } from "@dpipe/accounting/rdp-conversion"
import { pldAccountant, rdpAccountant } from "@dpipe/stages/privacy/accountants"
import { dpTune, TuningConfig, tuningPlan } from "@dpipe/stages/tuning-stages/tuning"
import { trainingEvent } from "@dpipe/stages/training-stages/config"

const model = { dModel: 32, layers: 1, heads: 2, kvHeads: 1, headDim: 16, ffnDim: 64 }
const config = (train: { steps: number; samplingRate: number; noiseMultiplier: number }, candidates: number, tuning: Record<string, unknown> = {}) =>
  Schema.decodeUnknownSync(TuningConfig)({
    train: { model, clipNorm: 1, ...train },
    learningRates: Array.from({ length: candidates }, (_, i) => 0.001 * (i + 1)),
    tuning
  })
const rdpEps = (e: Parameters<typeof rdpOfEvent>[0], delta: number) => epsilonFromRdp(DEFAULT_RDP_ORDERS, Result.getOrThrow(rdpOfEvent(e)), delta).epsilon

describe("dp-tune: the accounting of a tuning sweep", () => {
  it("few candidates: composing every trial (PLD) is smaller, and that is the one event predicted", () => {
    const c = config({ steps: 20, samplingRate: 0.01, noiseMultiplier: 1 }, 3)
    const p = Result.getOrThrow(tuningPlan(c))
    const compose = selfComposed(trainingEvent(c.train), 3)
    expect(p.accounting).toBe("composition")
    expect(p.event).toEqual(compose)
    expect(p.epsilon).toBe(Result.getOrThrow(pldEpsilon(compose, 1e-6)).epsilon)
    expect(p.epsilonSelection).toBeCloseTo(rdpEps(privateSelection(trainingEvent(c.train), geometricTrials(3)), 1e-6), 12)
    expect(p.epsilon).toBeLessThan(p.epsilonSelection)
    expect(dpTune.mechanism!.predict(c)).toEqual([compose])
  })

  it("many candidates: private selection (RDP) is smaller and is the event; forcing either mode is honoured", () => {
    const c = config({ steps: 50, samplingRate: 0.01, noiseMultiplier: 1.5 }, 30)
    const p = Result.getOrThrow(tuningPlan(c))
    const sel = privateSelection(trainingEvent(c.train), geometricTrials(30))
    expect(p.accounting).toBe("selection")
    expect(p.event).toEqual(sel)
    expect(p.epsilon).toBeCloseTo(rdpEps(sel, 1e-6), 12)
    expect(p.epsilon).toBeLessThan(p.epsilonComposition)
    expect(Result.getOrThrow(tuningPlan(config({ steps: 50, samplingRate: 0.01, noiseMultiplier: 1.5 }, 30, { accounting: "composition" }))).accounting).toBe("composition")
    const small = config({ steps: 20, samplingRate: 0.01, noiseMultiplier: 1 }, 3, { accounting: "selection", trialCount: { _tag: "TruncatedNegativeBinomial", eta: 0, gamma: 0.1 } })
    const forced = Result.getOrThrow(tuningPlan(small))
    expect(forced.accounting).toBe("selection")
    expect(forced.event).toEqual(privateSelection(trainingEvent(small.train), { _tag: "TruncatedNegativeBinomial", eta: 0, gamma: 0.1 }))
    expect(forced.epsilon).toBeGreaterThan(forced.epsilonComposition)
  })

  it("refuses a Poisson number of trials (K = 0 releases nothing), naming the fix", () => {
    const r = tuningPlan(config({ steps: 20, samplingRate: 0.01, noiseMultiplier: 1 }, 3, { trialCount: poissonTrials(3) }))
    expect(Result.isFailure(r) && r.failure).toMatch(/truncated negative binomial/)
  })

  it("the pipeline's PLD accountant composes ledger events holding a selection by RDP", async () => {
    const sel = privateSelection(selfComposed(poissonSampledGaussian(0.01, 1.0), 200), geometricTrials(4))
    const trial = selfComposed(poissonSampledGaussian(0.01, 1.0), 200)
    const events = [JSON.parse(JSON.stringify(sel)), JSON.parse(JSON.stringify(trial))]
    const a = await Effect.runPromise(pldAccountant.epsilon(events, 1e-6))
    const b = await Effect.runPromise(rdpAccountant.epsilon(events, 1e-6))
    expect(a).toBe(b)
    expect(a).toBeCloseTo(rdpEps(composed([sel, trial]), 1e-6), 12)
  })
})
