import { describe, expect, it } from "vitest"
import { Result, Schema } from "effect"
import { composed, DpEvent, flattenEvent, poissonSampledGaussian, privateSelection, selectionsOf, selfComposed } from "@dpipe/accounting/events"
import { geometricTrials, selectionRdp } from "@dpipe/accounting/hyperparameter-selection"
import { pldEpsilon } from "@dpipe/accounting/pld-accountant"
import { DEFAULT_RDP_ORDERS, rdpOfEvent } from "@dpipe/accounting/rdp"

const trial = selfComposed(poissonSampledGaussian(0.01, 1.0), 200)
const sel = privateSelection(trial, geometricTrials(4))

describe("the private-selection event in the ledger and the accountants", () => {
  it("RDP accounts it as the selection bound on the trial's own curve, and composes it with other events", () => {
    const t = Result.getOrThrow(rdpOfEvent(trial))
    const want = Result.getOrThrow(selectionRdp(DEFAULT_RDP_ORDERS, t, geometricTrials(4)))
    const got = Result.getOrThrow(rdpOfEvent(sel))
    want.forEach((w, i) => expect(got[i]).toBe(w))
    const other = selfComposed(poissonSampledGaussian(0.02, 1.2), 50)
    const both = Result.getOrThrow(rdpOfEvent(composed([sel, other, sel])))
    const o = Result.getOrThrow(rdpOfEvent(other))
    both.forEach((b, i) => expect(b).toBeCloseTo(2 * (want[i] as number) + (o[i] as number), 10))
  })

  it("is not a leaf: flattenEvent leaves it out and selectionsOf counts it", () => {
    expect(flattenEvent(sel)).toEqual([])
    expect(selectionsOf(selfComposed(composed([sel, trial]), 3))).toEqual([{ selection: sel, count: 3 }])
    // A selection repeated zero times spends nothing: it is no selection, and PLD accounts the rest.
    expect(selectionsOf(composed([selfComposed(sel, 0), trial]))).toEqual([])
    expect(Result.isSuccess(pldEpsilon(composed([selfComposed(sel, 0), trial]), 1e-6))).toBe(true)
  })

  it("round-trips through the ledger's JSON and is refused by PLD with a typed error", () => {
    const json = JSON.parse(JSON.stringify(sel))
    expect(Schema.decodeUnknownSync(DpEvent)(json)).toEqual(sel)
    expect(() => Schema.decodeUnknownSync(DpEvent)({ ...json, trials: { _tag: "TruncatedNegativeBinomial", eta: -2, gamma: 0.5 } })).toThrow()
    const p = pldEpsilon(composed([sel, trial]), 1e-6)
    expect(Result.isFailure(p) && p.failure._tag).toBe("UnsupportedEventError")
    expect(Result.isFailure(p) && p.failure.message).toMatch(/private selection/)
  })
})
