/**
 * The `privacy-statement` stage: the final epsilon of the DP training
 * run and a privacy statement a reader can check.
 *
 * It accounts for the DP event that actually ran (the execution plan's `event`: one
 * step's event self-composed `stepsDone` times), after checking that the event is the
 * one the plan's sampler, noise and relation describe (docs/privacy.md, P3), so the
 * statement's parameters and its epsilon cannot disagree.
 *
 * - PLD (authoritative): `pldEpsilon(event, delta)` with the default options, exactly as
 *   the pipeline's PLD accountant and `pnpm pipeline account` compute it.
 * - RDP (cross-check): `epsilonFromRdp(DEFAULT_RDP_ORDERS, rdpOfEvent(event), delta)`,
 *   with the best order; omitted with the accountant's reason when RDP has no analysis
 *   for the event (truncated Poisson batches).
 *
 * Inputs are the dp-train stage's `plan` and `model` (for the sequence length, the
 * privacy unit's size); both are functions of the public config and the mechanism's
 * public parameters, so the statement is as public as the DP release it describes
 * (its label follows its inputs: `dp`). The private metrics table is deliberately not
 * an input: it would make the statement private and adds nothing to the guarantee.
 */
import { Effect, Result, Schema } from "effect"
import { Artifact, canonicalJson, Stage, StageFailed } from "@dpipe/dsl"
import { DpEvent, poissonSampledGaussian, selfComposed, truncatedPoissonSampledGaussian } from "@dpipe/accounting/events"
import { pldEpsilon } from "@dpipe/accounting/pld-accountant"
import { DEFAULT_RDP_ORDERS, rdpOfEvent } from "@dpipe/accounting/rdp"
import { epsilonFromRdp } from "@dpipe/accounting/rdp-conversion"
import { ModelConfig } from "@dpipe/engine/model/gemma"
import { ExecutionPlan } from "@dpipe/stages/training-stages/config"
import { PrivacyStatement, type RdpResult } from "./schemas.ts"

export const StatementConfig = Schema.Struct({
  /** The delta at which epsilon is stated: the pipeline's budget delta. */
  delta: Schema.Finite.check(Schema.isGreaterThan(0), Schema.isLessThan(1)),
  /** The pipeline's declared epsilon budget, if any (the statement says whether it holds). */
  budgetEpsilon: Schema.optionalKey(Schema.Finite.check(Schema.isGreaterThan(0)))
})
export type StatementConfig = typeof StatementConfig.Type

/** Epsilon as printed everywhere in the report (3 decimals; tiny values in exponent form). */
export const formatEpsilon = (e: number): string => (e === 0 ? "0" : e >= 0.001 ? e.toFixed(3) : e.toExponential(2))

/** Delta as written in configs: 1e-6, 1.1e-10. */
export const formatDelta = (d: number): string => d.toExponential().replace("e+", "e")

const fmt = (v: number): string => String(Number(v.toPrecision(6)))

/** The event a plan's parameters describe: one step's event composed `stepsDone` times. */
export const planEvent = (plan: ExecutionPlan): DpEvent => {
  const leaf =
    plan.sampler === "truncated-poisson"
      ? truncatedPoissonSampledGaussian({
          datasetSize: plan.datasetSize ?? 0,
          batchCap: plan.batchCap ?? 0,
          samplingRate: plan.samplingRate,
          noiseMultiplier: plan.noiseMultiplier,
          neighbouring: plan.neighbouring
        })
      : poissonSampledGaussian(plan.samplingRate, plan.noiseMultiplier, plan.neighbouring)
  return selfComposed(leaf, plan.stepsDone)
}

/** The human paragraph of a statement. */
export const statementText = (s: Omit<PrivacyStatement, "text">): string => {
  const q = s.sampling
  const sampling =
    (q.datasetSize !== undefined
      ? `each step drew its batch by Poisson sampling, every one of the N = ${q.datasetSize} training sequences (the declared public size) joining independently with probability q = ${fmt(q.samplingRate)} ` +
        `(expected batch size q·N = ${fmt(q.expectedBatchSize ?? q.samplingRate * q.datasetSize)})`
      : `each step drew its batch by Poisson sampling, every training sequence joining independently with probability q = ${fmt(q.samplingRate)} ` +
        `(the number of sequences is not published: no public dataset size was declared, so the noised sum was divided by q times the actual size)`) +
    (q.method === "truncated-poisson" && q.batchCap !== undefined ? `, with batches above ${q.batchCap} sequences truncated to ${q.batchCap} (accounted as truncated Poisson sampling)` : "")
  const relation =
    s.neighbouring === "add_remove"
      ? `adding or removing one ${s.sequenceTokens}-token training sequence`
      : `replacing one ${s.sequenceTokens}-token training sequence by another`
  const stopped = s.steps < s.plannedSteps ? ` Training stopped after ${s.steps} of the ${s.plannedSteps} planned steps.` : ""
  const rdp =
    s.rdp._tag === "Computed"
      ? ` The RDP accountant, as a cross-check, gives epsilon = ${formatEpsilon(s.rdp.epsilon)} (best order ${s.rdp.order}).`
      : ` The RDP accountant gives no figure for this mechanism: ${s.rdp.reason}`
  // Without a declared budget the statement says so, rather than "within" or "exceeds" anything.
  const budget =
    s.budget === undefined
      ? " No privacy budget was declared for this run: nothing checked this epsilon against a limit."
      : s.budget.withinBudget
        ? ` This is within the pipeline's declared budget of epsilon = ${fmt(s.budget.epsilon)} at the same delta.`
        : ` This EXCEEDS the pipeline's declared budget of epsilon = ${fmt(s.budget.epsilon)} at the same delta.`
  return (
    `This model was trained with DP-SGD for ${s.steps} steps: ${sampling}; each sequence's gradient was clipped to L2 norm C = ${fmt(s.clipNorm)}, ` +
    `and Gaussian noise with standard deviation sigma·C = ${fmt(s.noiseStd)} (noise multiplier sigma = ${fmt(s.noiseMultiplier)}) was added once to each step's sum of clipped gradients.${stopped} ` +
    `The ${s.steps} steps are every step executed, including any that a stability rollback discarded: spent privacy is never reclaimed. ` +
    `By the privacy loss distribution (PLD) accountant, the trained model satisfies (epsilon, delta)-differential privacy with epsilon = ${formatEpsilon(s.epsilon)} ` +
    `and delta = ${formatDelta(s.delta)} with respect to ${relation}.${rdp}${budget} ` +
    `The unit of privacy is one sequence: content repeated across k sequences (an e-mail quoted in several messages, say) is protected only as a group of k, with a correspondingly weaker guarantee.`
  )
}

/**
 * The privacy statement of a DP training plan, or an actionable message saying why
 * none can be made. Pure (no I/O); the stage and the tests call it.
 */
export const computeStatement = (args: {
  readonly plan: ExecutionPlan
  readonly sequenceTokens: number
  readonly delta: number
  readonly budgetEpsilon?: number | undefined
}): Result.Result<PrivacyStatement, string> => {
  const { plan, delta } = args
  if (plan.event === null || plan.event === undefined || plan.noiseMultiplier === 0) {
    return Result.fail("the plan describes a non-private run (no DP event, no noise): wire the `plan` output of the dp-train stage, not of the non-private baseline")
  }
  if (!(delta > 0 && delta < 1)) return Result.fail(`delta must be in (0, 1), got ${delta}: set privacy-statement.delta to the pipeline's budget delta`)
  const decoded = Schema.decodeUnknownResult(DpEvent)(plan.event)
  if (Result.isFailure(decoded)) return Result.fail(`the plan's DP event is not a DP event the accountants can read: ${String(decoded.failure)}`)
  const event = decoded.success
  const expected = planEvent(plan)
  if (canonicalJson(event) !== canonicalJson(expected)) {
    return Result.fail(
      `the plan's DP event ${canonicalJson(event)} is not the event its parameters describe (${canonicalJson(expected)}): ` +
        "the statement would not match what ran; re-run dp-train so that its plan is consistent"
    )
  }
  let pld = 0
  let rdp: RdpResult
  if (plan.stepsDone === 0) {
    rdp = { _tag: "Computed", epsilon: 0, order: DEFAULT_RDP_ORDERS[0]! }
  } else {
    const p = pldEpsilon(event, delta)
    if (Result.isFailure(p)) return Result.fail(`the PLD accountant cannot account this run: ${p.failure.message}`)
    if (!Number.isFinite(p.success.epsilon)) return Result.fail(`the PLD accountant gives an infinite epsilon at delta ${formatDelta(delta)}: raise the noise multiplier or take fewer steps`)
    pld = p.success.epsilon
    const r = rdpOfEvent(event)
    if (Result.isFailure(r)) rdp = { _tag: "Omitted", reason: r.failure.message }
    else {
      const e = epsilonFromRdp(DEFAULT_RDP_ORDERS, r.success, delta)
      rdp = Number.isFinite(e.epsilon)
        ? { _tag: "Computed", epsilon: e.epsilon, order: e.order }
        : { _tag: "Omitted", reason: `RDP gives no finite epsilon at delta ${formatDelta(delta)} for any of its orders` }
    }
  }
  const body: Omit<PrivacyStatement, "text"> = {
    unit: "sequence",
    sequenceTokens: args.sequenceTokens,
    neighbouring: plan.neighbouring,
    sampling: {
      method: plan.sampler,
      samplingRate: plan.samplingRate,
      ...(plan.expectedBatchSize !== undefined ? { expectedBatchSize: plan.expectedBatchSize } : {}),
      ...(plan.batchCap !== undefined ? { batchCap: plan.batchCap } : {}),
      ...(plan.datasetSize !== undefined ? { datasetSize: plan.datasetSize } : {})
    },
    noiseMultiplier: plan.noiseMultiplier,
    clipNorm: plan.clipNorm,
    noiseStd: plan.noiseStd,
    steps: plan.stepsDone,
    plannedSteps: plan.steps,
    delta,
    epsilon: pld,
    accountant: "pld",
    pld: { epsilon: pld },
    rdp,
    ...(args.budgetEpsilon !== undefined ? { budget: { epsilon: args.budgetEpsilon, withinBudget: pld <= args.budgetEpsilon } } : {}),
    event: plan.event
  }
  return Result.succeed({ ...body, text: statementText(body) })
}

export const privacyStatement = Stage.make({
  name: "privacy-statement",
  version: "1",
  description: "Final epsilon of the DP training run by PLD (and RDP as a cross-check) and a privacy statement.",
  config: StatementConfig,
  inputs: {
    plan: Artifact.json("execution-plan", ExecutionPlan, { description: "the dp-train stage's plan (sampler, q, sigma, C, relation, steps done, event)" }),
    model: Artifact.json("model-config", ModelConfig, { description: "the dp-train stage's model config (sequence length = contextLength + 1)" })
  },
  outputs: {
    statement: Artifact.json("privacy-statement", PrivacyStatement, { description: "unit, relation, sampling, sigma, C, steps, delta, epsilon (PLD, RDP) and a paragraph" })
  },
  run: ({ config, inputs }) =>
    Effect.gen(function* () {
      const r = computeStatement({ plan: inputs.plan, sequenceTokens: inputs.model.contextLength + 1, delta: config.delta, budgetEpsilon: config.budgetEpsilon })
      if (Result.isFailure(r)) return yield* new StageFailed({ message: `privacy-statement: ${r.failure}` })
      return { statement: r.success }
    })
})
