/**
 * The accountants behind `pipeline account`: epsilon by RDP (best order, improved
 * conversion) and PLD for Poisson or truncated-Poisson DP-SGD, and sigma calibrated to
 * a target epsilon. The same functions the pipeline's accountants and the
 * privacy-statement stage use, so the numbers agree; and the same sampler check as the
 * training config, so `account` refuses what training refuses.
 */
import { Result } from "effect"
import { calibrateNoiseMultiplier } from "@dpipe/accounting/calibrate"
import { dpSgdStepEvent, selfComposed } from "@dpipe/accounting/events"
import { pldEpsilon } from "@dpipe/accounting/pld-accountant"
import { DEFAULT_RDP_ORDERS, rdpOfEvent } from "@dpipe/accounting/rdp"
import { epsilonFromRdp } from "@dpipe/accounting/rdp-conversion"
import { samplingProblem } from "@dpipe/stages/training-stages/config"

interface Query {
  readonly samplingRate: number
  readonly steps: number
  readonly delta: number
  readonly datasetSize?: number | undefined
  readonly batchCap?: number | undefined
}

const truncated = (q: Query): boolean => q.datasetSize !== undefined && q.batchCap !== undefined

const event = (q: Query, sigma: number) => selfComposed(dpSgdStepEvent({ ...q, noiseMultiplier: sigma }), q.steps)

export const accountingApi = {
  /** The sampler check training's config makes (a cap needs N; a cap below q*N is refused), same message. */
  check: (q: Query) => samplingProblem(q),
  epsilon: (q: Query & { readonly noiseMultiplier: number }) => {
    const errors: Array<string> = []
    const e = event(q, q.noiseMultiplier)
    let rdp: { epsilon: number; order: number } | undefined
    const r = rdpOfEvent(e)
    if (Result.isSuccess(r)) rdp = epsilonFromRdp(DEFAULT_RDP_ORDERS, r.success, q.delta)
    else if (!truncated(q)) errors.push(r.failure.message)
    const p = pldEpsilon(e, q.delta)
    const pld = Result.isSuccess(p) ? { epsilon: p.success.epsilon } : undefined
    if (Result.isFailure(p)) errors.push(p.failure.message)
    return { ...(rdp !== undefined ? { rdp } : {}), ...(pld !== undefined ? { pld } : {}), errors }
  },
  calibrate: (q: Query & { readonly epsilon: number }) => {
    const errors: Array<string> = []
    const mechanism = truncated(q) ? { samplingRate: q.samplingRate, datasetSize: q.datasetSize!, batchCap: q.batchCap! } : { samplingRate: q.samplingRate }
    const out: { rdp?: { noiseMultiplier: number }; pld?: { noiseMultiplier: number } } = {}
    if (!truncated(q)) {
      const r = calibrateNoiseMultiplier({ accountant: "rdp", mechanism, steps: q.steps, epsilon: q.epsilon, delta: q.delta })
      if (Result.isSuccess(r)) out.rdp = { noiseMultiplier: r.success.noiseMultiplier }
      else errors.push(r.failure.message)
    }
    const p = calibrateNoiseMultiplier({ accountant: "pld", mechanism, steps: q.steps, epsilon: q.epsilon, delta: q.delta })
    if (Result.isSuccess(p)) out.pld = { noiseMultiplier: p.success.noiseMultiplier }
    else errors.push(p.failure.message)
    return { ...out, errors }
  }
}
