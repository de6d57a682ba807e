/**
 * The accountants as the runtime sees them (the dsl's `Accountant`): they decode the
 * ledger's JSON events and compose them. PLD (Doroshenko et al. 2022, pessimistic
 * connect-the-dots) is the tighter method and the authoritative one for budgets at
 * VaultGemma's scale (docs/privacy.md, A1); RDP (Mironov et al. 2019, improved conversion of
 * Balle et al. 2020) is reported alongside as a cross-check.
 */
import { Effect, Result, Schema } from "effect"
import { AccountingFailed, type Accountant } from "@dpipe/dsl"
import { composed, DpEvent, selectionsOf } from "@dpipe/accounting/events"
import { pldEpsilon } from "@dpipe/accounting/pld-accountant"
import { DEFAULT_RDP_ORDERS, rdpOfEvent } from "@dpipe/accounting/rdp"
import { epsilonFromRdp } from "@dpipe/accounting/rdp-conversion"

const decodeAll = (events: ReadonlyArray<unknown>) =>
  Effect.try({
    try: () => composed(events.map((e) => Schema.decodeUnknownSync(DpEvent)(e))),
    catch: (e) => new AccountingFailed({ message: `the ledger holds an event the accountants cannot read: ${String(e)}` })
  })

export const rdpAccountant: Accountant = {
  name: "rdp",
  epsilon: (events, delta) =>
    Effect.flatMap(decodeAll(events), (event) => {
      const rdp = rdpOfEvent(event)
      if (Result.isFailure(rdp)) return Effect.fail(new AccountingFailed({ message: rdp.failure.message }))
      return Effect.succeed(epsilonFromRdp(DEFAULT_RDP_ORDERS, rdp.success, delta).epsilon)
    })
}

export const pldAccountant: Accountant = {
  name: "pld",
  epsilon: (events, delta) =>
    Effect.flatMap(decodeAll(events), (event) => {
      // PLD has no analysis of a private selection (a tuning sweep's best-of-K release):
      // events that hold one are composed by RDP, a valid upper bound (docs/privacy.md, A4).
      if (selectionsOf(event).length > 0) return rdpAccountant.epsilon(events, delta)
      const r = pldEpsilon(event, delta)
      if (Result.isFailure(r)) return Effect.fail(new AccountingFailed({ message: r.failure.message }))
      return Effect.succeed(r.success.epsilon)
    })
}

/** PLD first (authoritative), RDP as the cross-check. */
export const defaultAccountants = [pldAccountant, rdpAccountant] as const
