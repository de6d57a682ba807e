/**
 * Privacy spend of a plan and of a run's ledger, through the pipeline's accountants.
 * The first accountant of the pipeline's policy is authoritative for the budget; the
 * others are reported alongside (e.g. PLD first, RDP as a cross-check).
 */
import { Effect } from "effect"
import type { LedgerEntry, PipelineGraph } from "@dpipe/dsl"
import { Pipeline, PlanError, Privacy } from "@dpipe/dsl"
import type { Plan } from "@dpipe/dsl"

export interface Spend {
  readonly delta: number
  readonly budgetEpsilon: number
  /** Accountant name -> epsilon. */
  readonly epsilon: Readonly<Record<string, number>>
  /** The authoritative accountant's epsilon. */
  readonly primary: number
}

/** Epsilon of a list of events by every accountant of the pipeline. */
export const accountEvents = (graph: PipelineGraph, scale: string, events: ReadonlyArray<unknown>) =>
  Effect.gen(function* () {
    const policy = graph.privacy
    if (policy === undefined) return undefined
    const budget = Pipeline.budgetAt(policy, scale)
    const epsilon: Record<string, number> = {}
    const [primary, ...others] = policy.accountants
    epsilon[primary.name] = events.length === 0 ? 0 : yield* primary.epsilon(events, budget.delta)
    // A secondary accountant that does not apply (RDP for truncated Poisson) is left out.
    for (const a of others) {
      const r = events.length === 0 ? 0 : yield* a.epsilon(events, budget.delta).pipe(Effect.orElseSucceed(() => undefined))
      if (r !== undefined) epsilon[a.name] = r
    }
    const spend: Spend = {
      delta: budget.delta,
      budgetEpsilon: budget.epsilon,
      epsilon,
      primary: epsilon[policy.accountants[0].name] ?? 0
    }
    return spend
  })

/** The loud notice `plan` and `run` print when the pipeline opted out of a budget (`privacy: "none"`), else undefined. */
export const noBudgetNotice = (plan: Plan.Plan): string | undefined => {
  const status = Privacy.budgetStatus(plan.pipeline, plan.nodes.filter((n) => n.isMechanism).map((n) => n.id))
  return status._tag === "none" ? Privacy.noBudgetWarning(plan.pipeline.name, status.mechanisms) : undefined
}

/** The predicted spend of a plan: every mechanism node's declared events. */
export const predictSpend = (plan: Plan.Plan) => accountEvents(plan.pipeline, plan.scale, plan.nodes.flatMap((n) => n.predictedEvents))

/** Deltas read best in exponent form (1e-5, 1.1e-10). */
export const formatDelta = (delta: number): string => (delta < 1e-3 ? delta.toExponential() : String(delta))

/**
 * Whether the plan's DP mechanisms run against a budget; fails with a PlanError when a
 * mechanism runs without a policy and the pipeline did not opt out with `privacy: "none"`
 * (docs/privacy.md, B1).
 */
export const checkBudgetDeclared = (plan: Plan.Plan) =>
  Effect.gen(function* () {
    const status = Privacy.budgetStatus(plan.pipeline, plan.nodes.filter((n) => n.isMechanism).map((n) => n.id))
    if (status._tag === "missing") {
      return yield* new PlanError({ reason: "budget", node: status.mechanisms[0], message: Privacy.missingBudgetMessage(plan.pipeline.name, status.mechanisms) })
    }
    return status
  })

/** Fails with a PlanError when the plan's predicted spend exceeds the budget, or when it has mechanisms and no budget. */
export const checkBudget = (plan: Plan.Plan) =>
  Effect.gen(function* () {
    yield* checkBudgetDeclared(plan)
    const spend = yield* predictSpend(plan)
    if (spend !== undefined && spend.primary > spend.budgetEpsilon * (1 + 1e-9)) {
      return yield* new PlanError({
        reason: "budget",
        message: `Pipeline ${plan.pipeline.name} at scale ${plan.scale} would spend epsilon ${spend.primary.toFixed(4)} at delta ${formatDelta(spend.delta)} ` +
          `(by ${Object.keys(spend.epsilon)[0]}), over its budget of epsilon ${spend.budgetEpsilon}. Raise the noise multiplier, lower the steps or the sampling rate, or raise the budget.`
      })
    }
    return spend
  })

/** The run's spend from its ledger. */
export const ledgerSpend = (graph: PipelineGraph, scale: string, entries: ReadonlyArray<LedgerEntry>) => accountEvents(graph, scale, entries.map((e) => e.event))

/** Fails with a PlanError when a node cannot run on this machine (its preflight refused). */
export const checkPreflight = (plan: Plan.Plan) =>
  Effect.gen(function* () {
    const refused = plan.nodes.filter((n) => n.refusal !== undefined)
    if (refused.length > 0) {
      return yield* new PlanError({
        reason: "preflight",
        node: refused[0]!.id,
        message: refused.map((n) => `Stage ${n.id} cannot run here: ${n.refusal}`).join(" ")
      })
    }
  })
