/**
 * `pipeline carry <run-id>`: after a refactor the user asserts changes no results,
 * re-keys the run's cache entries under the current code so that the next run reuses
 * them (see ../carry.ts and docs/architecture.md, "Stage keys and what is not keyed").
 */
import { Effect } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { carryRun } from "../carry.ts"
import { loadPipeline, pipelinesDir } from "../pipelines.ts"
import { readRunRecord } from "../run-state.ts"
import { jsonFlag, planGraph, print, storeFlag, storeOf, textTable } from "./common.ts"

export const carryCommand = Command.make(
  "carry",
  {
    runId: Argument.String("run-id").pipe(Argument.withDescription("the run whose cache entries to carry forward")),
    node: Flag.String("node").pipe(Flag.withDescription("carry only this node (repeatable; default: every node whose code alone changed)"), Flag.atLeast(0)),
    store: storeFlag,
    json: jsonFlag
  },
  (a) =>
    Effect.gen(function* () {
      const store = storeOf(a.store)
      const record = yield* readRunRecord(store.runFile(a.runId), a.runId)
      const graph = yield* loadPipeline(pipelinesDir(), record.pipeline)
      const plan = yield* planGraph(graph, record.scale, record.settings)
      const outcomes = yield* carryRun({ store, plan, record, ...(a.node.length > 0 ? { only: a.node } : {}) })
      if (a.json) return yield* print(JSON.stringify(outcomes))
      const rows = outcomes.map((o) => [
        o.node,
        o.status,
        o.status === "carried" ? `${o.from.slice(0, 12)} -> ${o.to.slice(0, 12)}` : o.status === "unchanged" ? o.key.slice(0, 12) : o.reason
      ])
      const carried = outcomes.filter((o) => o.status === "carried").length
      yield* print(`${textTable(["node", "status", "key / reason"], rows)}\n${carried} cache entr${carried === 1 ? "y" : "ies"} carried to the current code; \`pnpm pipeline run ${record.pipeline}\` reuses them.`)
    })
).pipe(
  Command.withDescription(
    "After a refactor that changes no results (renames, comments, moved code), keep a run's cache: every stage whose code alone changed gets its outputs under its new key. You assert the results are the same; nothing is recomputed to check."
  )
)
