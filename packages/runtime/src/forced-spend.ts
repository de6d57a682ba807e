/**
 * What `run --force` costs in privacy: a forced DP stage executes under a new key
 * (selection.ts), so it draws fresh noise and its release spends again on top of the
 * cached one. `plan --force` prints this figure per forced mechanism.
 */
import { Effect } from "effect"
import type { Plan } from "@dpipe/dsl"
import { accountEvents } from "./privacy.ts"

export interface ForcedSpend {
  readonly node: string
  /** Accountant name -> epsilon of this node's predicted events alone. */
  readonly epsilon: Readonly<Record<string, number>>
}

export const forcedSpend = (plan: Plan.Plan) =>
  Effect.gen(function* () {
    const out: Array<ForcedSpend> = []
    for (const n of plan.nodes) {
      if (!n.isMechanism || plan.forced?.includes(n.id) !== true) continue
      const spend = yield* accountEvents(plan.pipeline, plan.scale, n.predictedEvents)
      out.push({ node: n.id, epsilon: spend?.epsilon ?? {} })
    }
    return out
  })
