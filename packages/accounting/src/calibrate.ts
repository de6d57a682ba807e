/**
 * Calibration by bisection on monotone functions.
 *
 * - noise multiplier for a target (epsilon, delta) given q and T: epsilon decreases in sigma
 *   (a larger sigma is a post-processing of a smaller one: add independent noise), so we
 *   bracket (PLD: by the RDP sigma, see calibrateNoiseMultiplier) and search until
 *   (hi - lo) <= relTol * hi (default 1e-4). The returned sigma is the upper end `hi`, which
 *   was checked to give epsilon <= target: conservative.
 * - number of steps for a target epsilon given sigma and q: epsilon increases in T; exponential
 *   then binary search over integers for the largest T with epsilon(T) <= target (exact).
 * Both work for either accountant; the truncated Poisson event (datasetSize and batchCap set)
 * is PLD only.
 */
import { Result } from "effect"
import { selfComposed, type DpEvent, dpSgdStepEvent } from "@dpipe/accounting/events"
import { CalibrationError, InvalidAccountingParameterError, type UnsupportedEventError } from "@dpipe/accounting/errors"
import { rdpOfEvent, DEFAULT_RDP_ORDERS, type RdpOptions } from "@dpipe/accounting/rdp"
import { epsilonFromRdp, type RdpConversion } from "@dpipe/accounting/rdp-conversion"
import { pldEpsilon, type PldOptions } from "@dpipe/accounting/pld-accountant"
import { DEFAULT_VALUE_DISCRETIZATION } from "@dpipe/accounting/pld"

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

const stepEvent = (m: StepMechanism, sigma: number): DpEvent => dpSgdStepEvent({ ...m, noiseMultiplier: sigma })

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

type EpsOf = (sigma: number) => Result.Result<number, UnsupportedEventError>

interface Bracket {
  readonly lo: number
  readonly epsLo: number
  readonly hi: number
  readonly epsHi: number
}

/**
 * Illinois regula falsi on g(sigma) = log(eps / target) inside a bracket with eps(lo) > target
 * >= eps(hi); each secant step is pushed a quarter tolerance past the estimate so that the
 * bracket closes from both sides (bisection if the secant is undefined). Returns hi once
 * hi - lo <= relTol hi.
 */
const refine = (
  eps: EpsOf,
  target: number,
  relTol: number,
  start: Bracket
): Result.Result<{ readonly noiseMultiplier: number; readonly epsilon: number }, UnsupportedEventError> => {
  let { lo, hi, epsHi } = start
  const g = (x: number) => Math.log(x / target)
  let gLo = g(start.epsLo)
  let gHi = g(epsHi)
  let side = 0
  for (let it = 0; it < 100 && hi - lo > relTol * hi; it++) {
    let x: number
    if (Number.isFinite(gLo) && gLo - gHi > 0) {
      x = hi - (gHi * (hi - lo)) / (gHi - gLo)
      x = Math.min(hi - 0.25 * relTol * hi, Math.max(lo + 0.25 * relTol * hi, x + (side === 1 ? -0.25 : 0.25) * relTol * hi))
    } else x = 0.5 * (lo + hi)
    const e = eps(x)
    if (Result.isFailure(e)) return Result.fail(e.failure)
    const gx = g(e.success)
    if (e.success <= target) {
      hi = x
      epsHi = e.success
      gHi = gx
      if (side === 1) gLo /= 2
      side = 1
    } else {
      lo = x
      gLo = gx
      if (side === -1) gHi /= 2
      side = -1
    }
  }
  return Result.succeed({ noiseMultiplier: hi, epsilon: epsHi })
}

/**
 * Bracket around a first estimate x (from a cheaper accountant run): probes x and x(1 -+ step)
 * outward, growing the step, until eps(lo) > target >= eps(hi).
 */
const bracketAround = (eps: EpsOf, target: number, x: number, step: number): Result.Result<Bracket | undefined, UnsupportedEventError> => {
  let e = eps(x)
  if (Result.isFailure(e)) return Result.fail(e.failure)
  let s = step
  if (e.success <= target) {
    let hi = x
    let epsHi = e.success
    for (let i = 0; i < 12; i++) {
      const lo = Math.max(MIN_NOISE_MULTIPLIER, hi * (1 - s))
      if (lo >= hi) return Result.succeed(undefined)
      e = eps(lo)
      if (Result.isFailure(e)) return Result.fail(e.failure)
      if (e.success > target) return Result.succeed({ lo, epsLo: e.success, hi, epsHi })
      hi = lo
      epsHi = e.success
      s = Math.min(0.5, s * 4)
    }
    return Result.succeed(undefined)
  }
  let lo = x
  let epsLo = e.success
  for (let i = 0; i < 12; i++) {
    const hi = lo * (1 + s)
    e = eps(hi)
    if (Result.isFailure(e)) return Result.fail(e.failure)
    if (e.success <= target) return Result.succeed({ lo, epsLo, hi, epsHi: e.success })
    lo = hi
    epsLo = e.success
    s = Math.min(1, s * 4)
  }
  return Result.succeed(undefined)
}

/** Smallest noise multiplier calibration will probe (the PLD grid of smaller ones gets coarse). */
export const MIN_NOISE_MULTIPLIER = 0.05

/**
 * Smallest noise multiplier (to relTol) whose T-step epsilon at delta is <= target.
 *
 * Bracket: for PLD (non-truncated), the RDP-calibrated sigma is an upper bracket (PLD <= RDP)
 * and 0.3x it a lower one (PLD is within ~2x of RDP in epsilon, far less in sigma), widened
 * by halving if needed but never below MIN_NOISE_MULTIPLIER; otherwise doubling from 1.
 * Search: Illinois regula falsi on log epsilon (a few evaluations instead of ~14 bisections),
 * with bisection fallback; stops when hi - lo <= relTol * hi and returns hi (checked).
 */
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
  const target = args.epsilon
  // PLD: tilt each composition at the target directly (the answer is near it).
  const evalOptions: AccountantOptions | undefined =
    args.accountant === "pld" ? { ...args.options, pld: { epsilonHint: target, ...args.options?.pld } } : args.options
  const eps = (sigma: number) =>
    epsilonOf(args.accountant, selfComposed(stepEvent(args.mechanism, sigma), args.steps), args.delta, evalOptions)
  // PLD: solve on an 8x coarser grid first (~8x cheaper, epsilon within ~1e-5 relative), then
  // bracket the requested grid's answer tightly around it.
  const pldOpts = args.options?.pld ?? {}
  if (args.accountant === "pld" && pldOpts.valueDiscretization === undefined) {
    const coarseOptions: AccountantOptions = {
      ...args.options,
      pld: { ...pldOpts, valueDiscretization: 8 * DEFAULT_VALUE_DISCRETIZATION }
    }
    const first = calibrateNoiseMultiplier({ ...args, options: coarseOptions })
    if (Result.isFailure(first)) return first
    // The coarse answer is within relTol of the coarse boundary, and the two grids' epsilons
    // agree to ~1e-5 relative: if it also passes on the requested grid, it is the answer.
    const x = first.success.noiseMultiplier
    const check = eps(x)
    if (Result.isFailure(check)) return Result.fail(check.failure)
    if (check.success <= target) return Result.succeed({ noiseMultiplier: x, epsilon: check.success })
    const br = bracketAround(eps, target, x * (1 + Math.max(relTol, 1e-4)), Math.max(relTol, 1e-4))
    if (Result.isFailure(br)) return Result.fail(br.failure)
    if (br.success !== undefined) return refine(eps, target, relTol, br.success)
  }
  const tooNoisy = () =>
    Result.fail(
      new CalibrationError({
        accountant: args.accountant,
        message: `no noise multiplier up to 1e6 reaches epsilon ${target}; raise epsilon or delta, or lower q or T`
      })
    )
  // Upper bracket.
  let hi = 1
  let fromRdp = false
  if (args.accountant === "pld" && args.mechanism.batchCap === undefined) {
    const r = calibrateNoiseMultiplier({ ...args, accountant: "rdp", relTol: 1e-4 })
    if (Result.isSuccess(r)) {
      hi = r.success.noiseMultiplier
      fromRdp = true
    }
  }
  let e = eps(hi)
  if (Result.isFailure(e)) return Result.fail(e.failure)
  let epsHi = e.success
  let lo = 0
  let epsLo = Infinity
  while (epsHi > target) {
    lo = hi
    epsLo = epsHi
    hi *= 2
    if (hi > 1e6) return tooNoisy()
    e = eps(hi)
    if (Result.isFailure(e)) return Result.fail(e.failure)
    epsHi = e.success
  }
  // Lower bracket: step down from hi by 10%, 20%, 40%, ... (small sigmas are the expensive
  // ones), at most to 0.3x the RDP sigma (PLD epsilon is never far below RDP's), then halving;
  // never below MIN_NOISE_MULTIPLIER.
  if (lo === 0) {
    const top = hi
    const limit = fromRdp ? 0.3 * top : 0.5 * top
    let frac = 0.1
    for (;;) {
      lo = Math.max(MIN_NOISE_MULTIPLIER, frac < 0.7 ? Math.max(limit, top * (1 - frac)) : lo / 2)
      if (lo >= hi) return Result.succeed({ noiseMultiplier: hi, epsilon: epsHi })
      e = eps(lo)
      if (Result.isFailure(e)) return Result.fail(e.failure)
      if (e.success > target) {
        epsLo = e.success
        break
      }
      hi = lo
      epsHi = e.success
      if (lo <= MIN_NOISE_MULTIPLIER) return Result.succeed({ noiseMultiplier: hi, epsilon: epsHi })
      frac *= 2
    }
  }
  return refine(eps, target, relTol, { lo, epsLo, hi, epsHi })
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
