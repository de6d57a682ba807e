/**
 * Calibration by bisection on monotone functions.
 *
 * - noise multiplier for a target (epsilon, delta) given q and T: epsilon decreases in sigma
 *   (a larger sigma is a post-processing of a smaller one: add independent noise), so we
 *   bracket by doubling and bisect until (hi - lo) <= relTol * hi (default 1e-4). The returned
 *   sigma is the upper end `hi`, which was checked to give epsilon <= target: conservative.
 * - number of steps for a target epsilon given sigma and q: epsilon increases in T; exponential
 *   then binary search over integers for the largest T with epsilon(T) <= target (exact).
 * Both work for either accountant; the truncated Poisson event (datasetSize and batchCap set)
 * is PLD only.
 */
import { Result } from "effect"
import {
  poissonSampledGaussian,
  selfComposed,
  truncatedPoissonSampledGaussian,
  type DpEvent
} from "@dpipe/stages/accounting/events"
import { CalibrationError, InvalidAccountingParameterError, type UnsupportedEventError } from "@dpipe/stages/accounting/errors"
import { rdpOfEvent, DEFAULT_RDP_ORDERS, type RdpOptions } from "@dpipe/stages/accounting/rdp"
import { epsilonFromRdp, type RdpConversion } from "@dpipe/stages/accounting/rdp-conversion"
import { pldEpsilon, type PldOptions } from "@dpipe/stages/accounting/pld-accountant"

export type Accountant = "rdp" | "pld"

export interface StepMechanism {
  /** Poisson sampling rate q in (0, 1]. */
  readonly samplingRate: number
  /** Dataset size and batch cap: set both for truncated Poisson batches (PLD only). */
  readonly datasetSize?: number
  readonly batchCap?: number
}

export interface AccountantOptions {
  readonly rdp?: RdpOptions & { readonly conversion?: RdpConversion }
  readonly pld?: PldOptions
}

type CalibrationFailure = CalibrationError | UnsupportedEventError | InvalidAccountingParameterError

const stepEvent = (m: StepMechanism, sigma: number): DpEvent =>
  m.datasetSize !== undefined && m.batchCap !== undefined
    ? truncatedPoissonSampledGaussian({
        datasetSize: m.datasetSize,
        batchCap: m.batchCap,
        samplingRate: m.samplingRate,
        noiseMultiplier: sigma
      })
    : poissonSampledGaussian(m.samplingRate, sigma)

/** epsilon of an event at delta by the chosen accountant. */
export const epsilonOf = (
  accountant: Accountant,
  event: DpEvent,
  delta: number,
  options: AccountantOptions = {}
): Result.Result<number, UnsupportedEventError> => {
  if (accountant === "pld") return Result.map(pldEpsilon(event, delta, options.pld ?? {}), (r) => r.epsilon)
  const rdpOpts = options.rdp ?? {}
  return Result.map(rdpOfEvent(event, rdpOpts), (rdp) =>
    epsilonFromRdp(rdpOpts.orders ?? DEFAULT_RDP_ORDERS, rdp, delta, rdpOpts.conversion ?? "improved").epsilon
  )
}

const checkTarget = (epsilon: number, delta: number): InvalidAccountingParameterError | undefined => {
  if (!(epsilon > 0) || !Number.isFinite(epsilon))
    return new InvalidAccountingParameterError({ parameter: "epsilon", value: epsilon, message: "target epsilon must be a positive finite number" })
  if (!(delta > 0 && delta < 1))
    return new InvalidAccountingParameterError({ parameter: "delta", value: delta, message: "delta must be in (0, 1)" })
  return undefined
}

/** Smallest noise multiplier (to relTol) whose T-step epsilon at delta is <= target. */
export const calibrateNoiseMultiplier = (args: {
  readonly accountant: Accountant
  readonly mechanism: StepMechanism
  readonly steps: number
  readonly epsilon: number
  readonly delta: number
  readonly relTol?: number
  readonly options?: AccountantOptions
}): Result.Result<{ readonly noiseMultiplier: number; readonly epsilon: number }, CalibrationFailure> => {
  const bad = checkTarget(args.epsilon, args.delta)
  if (bad) return Result.fail(bad)
  const relTol = args.relTol ?? 1e-4
  const eps = (sigma: number) =>
    epsilonOf(args.accountant, selfComposed(stepEvent(args.mechanism, sigma), args.steps), args.delta, args.options)
  // PLD is tighter than RDP, so the RDP-calibrated sigma is a good upper bracket (when RDP applies).
  let hi = 1
  if (args.accountant === "pld" && args.mechanism.batchCap === undefined) {
    const r = calibrateNoiseMultiplier({ ...args, accountant: "rdp", relTol: 1e-3 })
    if (Result.isSuccess(r)) hi = r.success.noiseMultiplier
  }
  let epsHi = eps(hi)
  if (Result.isFailure(epsHi)) return Result.fail(epsHi.failure)
  let lo = 0
  while (epsHi.success > args.epsilon) {
    lo = hi
    hi *= 2
    if (hi > 1e6)
      return Result.fail(new CalibrationError({ accountant: args.accountant, message: `no noise multiplier up to 1e6 reaches epsilon ${args.epsilon}; raise epsilon or delta, or lower q or T` }))
    epsHi = eps(hi)
    if (Result.isFailure(epsHi)) return Result.fail(epsHi.failure)
  }
  if (lo === 0) {
    lo = hi / 2
    for (;;) {
      const e = eps(lo)
      if (Result.isFailure(e)) return Result.fail(e.failure)
      if (e.success > args.epsilon) break
      hi = lo
      epsHi = e
      lo /= 2
      if (lo < 1e-6) return Result.succeed({ noiseMultiplier: hi, epsilon: epsHi.success })
    }
  }
  while (hi - lo > relTol * hi) {
    const mid = 0.5 * (lo + hi)
    const e = eps(mid)
    if (Result.isFailure(e)) return Result.fail(e.failure)
    if (e.success <= args.epsilon) {
      hi = mid
      epsHi = e
    } else lo = mid
  }
  return Result.succeed({ noiseMultiplier: hi, epsilon: epsHi.success })
}

/** Largest number of steps whose epsilon at delta is <= target (0 if one step exceeds it). */
export const calibrateSteps = (args: {
  readonly accountant: Accountant
  readonly mechanism: StepMechanism
  readonly noiseMultiplier: number
  readonly epsilon: number
  readonly delta: number
  readonly maxSteps?: number
  readonly options?: AccountantOptions
}): Result.Result<{ readonly steps: number; readonly epsilon: number }, CalibrationFailure> => {
  const bad = checkTarget(args.epsilon, args.delta)
  if (bad) return Result.fail(bad)
  const maxSteps = args.maxSteps ?? 1e9
  const eps = (t: number) =>
    t === 0
      ? Result.succeed(0)
      : epsilonOf(args.accountant, selfComposed(stepEvent(args.mechanism, args.noiseMultiplier), t), args.delta, args.options)
  let lo = 0
  let epsLo = 0
  let hi = 1
  for (;;) {
    const e = eps(hi)
    if (Result.isFailure(e)) return Result.fail(e.failure)
    if (e.success > args.epsilon) break
    lo = hi
    epsLo = e.success
    if (hi >= maxSteps) return Result.succeed({ steps: lo, epsilon: epsLo })
    hi = Math.min(maxSteps, hi * 2)
  }
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2)
    const e = eps(mid)
    if (Result.isFailure(e)) return Result.fail(e.failure)
    if (e.success <= args.epsilon) {
      lo = mid
      epsLo = e.success
    } else hi = mid
  }
  return Result.succeed({ steps: lo, epsilon: epsLo })
}
