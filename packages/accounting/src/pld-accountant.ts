/**
 * The PLD accountant: DP events -> composed PLD -> epsilon(delta) / delta(epsilon).
 *
 * Private selections (best of K trials) have no PLD analysis: events holding one are refused
 * with a typed error (the RDP accountant accounts them). Each leaf becomes a PLD pair (remove and add directions; Gaussian and replace-one
 * Gaussian are symmetric), leaves are composed with their counts (pld-composition.ts), and
 * delta = max(delta_remove, delta_add) (dp_accounting's PLDAccountant convention for
 * add/remove adjacency). For epsilon(delta) the composition's tilt is focused at the RDP
 * epsilon (an upper bound, usually within 2x; the answer is insensitive to it), or, for events
 * RDP does not support, at the epsilon of a cheap first pass at 8x coarser discretization.
 * The composition is a guaranteed upper bound (pld-composition.ts), so neither choice affects
 * validity.
 *
 * Memory is bounded: the grid step is raised (coarsened; connect-the-dots stays pessimistic at
 * any step) until the single-step PLDs and the Chernoff range of the composition (all but
 * tailMass of the composed mass) fit in MAX_SUPPORT entries, so no (q, sigma, T) can make the
 * FFTs explode.
 */
import { Result } from "effect"
import type { DpEvent, LeafEvent } from "@dpipe/accounting/events"
import { flattenEvent, selectionsOf } from "@dpipe/accounting/events"
import { UnsupportedEventError } from "@dpipe/accounting/errors"
import {
  connectTheDots,
  DEFAULT_VALUE_DISCRETIZATION,
  gaussianPld,
  pmfDelta,
  pmfEpsilon,
  poissonGaussianPld,
  truncatedPoissonComponents,
  swapPmf,
  type PldPair
} from "@dpipe/accounting/pld"
import { composedRange } from "@dpipe/accounting/chernoff"
import { composePlds, MAX_SUPPORT, type CompositionStats } from "@dpipe/accounting/pld-composition"
import { logGamma } from "@dpipe/accounting/special"
import { DEFAULT_RDP_ORDERS, rdpOfEvent } from "@dpipe/accounting/rdp"
import { epsilonFromRdp } from "@dpipe/accounting/rdp-conversion"

export interface PldOptions {
  /** Grid step of privacy loss values; default 1e-4 (dp_accounting's default). */
  readonly valueDiscretization?: number
  /** Total tail mass that truncation may send to +infinity; default 1e-14 (pldEpsilon: 1e-7 delta). */
  readonly tailMass?: number
  /**
   * pldEpsilon only: a close estimate of the answer (e.g. the target during calibration). The
   * composition is then tilted there directly, skipping the coarse locating pass. Only affects
   * rounding accuracy, never validity.
   */
  readonly epsilonHint?: number
}

const identityPair = (h: number): PldPair => {
  const id = { h, lo: 0, masses: Float64Array.of(1), infinityMass: 0 }
  return { remove: id, add: id }
}

/** PLD pair of one leaf event, or why the PLD accountant cannot handle it. */
export const pldPairOfLeaf = (leaf: LeafEvent, h: number = DEFAULT_VALUE_DISCRETIZATION): Result.Result<PldPair, UnsupportedEventError> => {
  const replaceOne = leaf.neighbouring === "replace_one"
  const sigma = leaf.noiseMultiplier
  if (sigma === 0) {
    const inf = { h, lo: 0, masses: new Float64Array(1), infinityMass: 1 }
    return Result.succeed({ remove: inf, add: inf })
  }
  switch (leaf._tag) {
    case "GaussianEvent":
      return Result.succeed(gaussianPld(replaceOne ? sigma / 2 : sigma, h))
    case "PoissonSampledGaussianEvent":
      if (leaf.samplingRate === 0) return Result.succeed(identityPair(h))
      if (replaceOne && leaf.samplingRate < 1) {
        return Result.fail(
          new UnsupportedEventError({
            accountant: "pld",
            event: leaf._tag,
            message:
              "no replace-one PLD for the Poisson-subsampled Gaussian here; record the step with " +
              "neighbouring \"add_remove\" (the usual DP-SGD guarantee)"
          })
        )
      }
      return Result.succeed(poissonGaussianPld(leaf.samplingRate, replaceOne ? sigma / 2 : sigma, h))
    case "TruncatedPoissonSampledGaussianEvent": {
      if (replaceOne) {
        return Result.fail(
          new UnsupportedEventError({
            accountant: "pld",
            event: leaf._tag,
            message: "the truncated Poisson analysis is for add/remove adjacency; record the step with neighbouring \"add_remove\""
          })
        )
      }
      if (leaf.samplingRate === 0) return Result.succeed(identityPair(h))
      const comps = truncatedPoissonComponents(leaf.datasetSize, leaf.batchCap, leaf.samplingRate, sigma, logGamma)
      const remove = connectTheDots(comps, "remove", h)
      return Result.succeed({ remove, add: swapPmf(remove) })
    }
    default:
      return leaf satisfies never
  }
}

/** Fraction of MAX_SUPPORT the estimated supports may use (room for rounding-noise spread). */
const SUPPORT_FILL = 0.5

/** Leaf PLD pairs of an event with their counts, at grid step h. */
const partsOfEvent = (
  event: DpEvent,
  h: number
): Result.Result<ReadonlyArray<{ readonly pair: PldPair; readonly count: number }>, UnsupportedEventError> => {
  const selection = selectionsOf(event)[0]
  if (selection !== undefined) {
    return Result.fail(
      new UnsupportedEventError({
        accountant: "pld",
        event: selection.selection._tag,
        message: "the PLD accountant has no analysis of a private selection (best of a random number of trials); account it by RDP (Papernot and Steinke 2022)"
      })
    )
  }
  const parts: Array<{ pair: PldPair; count: number }> = []
  // Gaussian steps compose exactly: sum of 1/sigma^2 (Dong, Roth, Su 2022, mu-GDP composition).
  let gaussianPrecision = 0
  const others: Array<{ leaf: LeafEvent; count: number }> = []
  for (const { leaf, count } of flattenEvent(event)) {
    if (leaf._tag === "GaussianEvent" && leaf.noiseMultiplier > 0) {
      const s = leaf.neighbouring === "replace_one" ? leaf.noiseMultiplier / 2 : leaf.noiseMultiplier
      gaussianPrecision += count / (s * s)
    } else others.push({ leaf, count })
  }
  if (gaussianPrecision > 0) parts.push({ pair: gaussianPld(1 / Math.sqrt(gaussianPrecision), h), count: 1 })
  for (const { leaf, count } of others) {
    const p = pldPairOfLeaf(leaf, h)
    if (Result.isFailure(p)) return Result.fail(p.failure)
    parts.push({ pair: p.success, count })
  }
  return Result.succeed(parts)
}

/** Entries (per direction) the composition of `parts` needs: the largest leaf and the Chernoff range. */
const supportNeeded = (parts: ReadonlyArray<{ readonly pair: PldPair; readonly count: number }>, tail: number): number => {
  const h = parts[0]?.pair.remove.h ?? DEFAULT_VALUE_DISCRETIZATION
  let n = 1
  for (const p of parts) n = Math.max(n, p.pair.remove.masses.length, p.pair.add.masses.length)
  const active = parts.filter((p) => p.count > 0)
  for (const dir of ["remove", "add"] as const) {
    const [lo, hi] = composedRange(active.map((p) => ({ pmf: p.pair[dir], count: p.count })), tail)
    if (Number.isFinite(lo) && Number.isFinite(hi)) n = Math.max(n, (hi - lo) / h)
  }
  return n
}

/**
 * Leaf PLD pairs at the finest grid step >= h whose composition fits in memory (see header).
 * Returns the parts and the step used.
 */
const fittingParts = (
  event: DpEvent,
  h: number,
  tail: number
): Result.Result<ReadonlyArray<{ readonly pair: PldPair; readonly count: number }>, UnsupportedEventError> => {
  let step = h
  for (let attempt = 0; ; attempt++) {
    const parts = partsOfEvent(event, step)
    if (Result.isFailure(parts)) return parts
    const need = supportNeeded(parts.success, tail)
    if (need <= SUPPORT_FILL * MAX_SUPPORT || attempt >= 6) return parts
    step *= Math.min(64, Math.max(2, need / (SUPPORT_FILL * MAX_SUPPORT)) * 1.1)
  }
}

/** Composed PLD pair of an event (masses are upper bounds), focused at `focusEpsilon`. */
export const pldOfEvent = (
  event: DpEvent,
  options: PldOptions & { readonly focusEpsilon?: number } = {}
): Result.Result<{ readonly pair: PldPair; readonly stats: CompositionStats }, UnsupportedEventError> => {
  const h = options.valueDiscretization ?? DEFAULT_VALUE_DISCRETIZATION
  const tailMass = options.tailMass ?? 1e-14
  const parts = fittingParts(event, h, tailMass)
  if (Result.isFailure(parts)) return Result.fail(parts.failure)
  return Result.succeed(
    composePlds(parts.success, {
      tailMass,
      ...(options.focusEpsilon === undefined ? {} : { focusEpsilon: options.focusEpsilon })
    })
  )
}

/** The RDP epsilon of an event (an upper bound on the PLD one), if the RDP accountant supports it. */
const rdpEpsilonGuess = (event: DpEvent, delta: number): number | undefined => {
  const r = rdpOfEvent(event)
  if (Result.isFailure(r)) return undefined
  const e = epsilonFromRdp(DEFAULT_RDP_ORDERS, r.success, delta).epsilon
  return Number.isFinite(e) ? e : undefined
}

/** delta(epsilon) of a composed pair: the larger of the two directions. */
export const pairDelta = (pair: PldPair, epsilon: number): number =>
  Math.max(pmfDelta(pair.remove, epsilon), pmfDelta(pair.add, epsilon))

/** epsilon(delta) of a composed pair: the larger of the two directions. */
export const pairEpsilon = (pair: PldPair, delta: number): number =>
  Math.max(pmfEpsilon(pair.remove, delta), pmfEpsilon(pair.add, delta))

/** Smallest epsilon such that the event is (epsilon, delta)-DP by the PLD accountant. */
export const pldEpsilon = (
  event: DpEvent,
  delta: number,
  options: PldOptions = {}
): Result.Result<{ readonly epsilon: number; readonly stats: CompositionStats }, UnsupportedEventError> => {
  const h = options.valueDiscretization ?? DEFAULT_VALUE_DISCRETIZATION
  // Focus of the tilt: the hint, else the RDP epsilon (an upper bound on the PLD one; the
  // result moves by ~1e-6 when the focus is off by 2x, and a focus above the answer keeps the
  // supports shorter), else a first pass at 8x coarser discretization.
  let focus = options.epsilonHint ?? rdpEpsilonGuess(event, delta)
  if (focus === undefined) {
    const coarse = pldOfEvent(event, { ...options, valueDiscretization: 8 * h, focusEpsilon: 1 })
    if (Result.isFailure(coarse)) return Result.fail(coarse.failure)
    const guess = pairEpsilon(coarse.success.pair, delta)
    focus = Number.isFinite(guess) ? Math.max(0, guess) : 1
  }
  // tail mass sent to +infinity adds to delta: 1e-7 of the target keeps it negligible
  const fine = pldOfEvent(event, { tailMass: 1e-7 * delta, ...options, focusEpsilon: focus })
  if (Result.isFailure(fine)) return Result.fail(fine.failure)
  return Result.succeed({ epsilon: pairEpsilon(fine.success.pair, delta), stats: fine.success.stats })
}

/** Smallest delta such that the event is (epsilon, delta)-DP by the PLD accountant. */
export const pldDelta = (
  event: DpEvent,
  epsilon: number,
  options: PldOptions = {}
): Result.Result<{ readonly delta: number; readonly stats: CompositionStats }, UnsupportedEventError> => {
  const r = pldOfEvent(event, { ...options, focusEpsilon: epsilon })
  if (Result.isFailure(r)) return Result.fail(r.failure)
  return Result.succeed({ delta: pairDelta(r.success.pair, epsilon), stats: r.success.stats })
}
