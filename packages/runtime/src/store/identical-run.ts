/**
 * A re-run that would change nothing: every stage of the plan is cached and an earlier
 * run that succeeded has the same pipeline, scale, settings and stage keys. `run` then
 * points at that run instead of adding another run directory with the same content
 * (`run --new-run`, or naming the run with --run-id, records a new one anyway).
 */
import { Effect } from "effect"
import { readdir } from "node:fs/promises"
import type { Plan } from "@dpipe/dsl"
import { canonicalJson } from "@dpipe/dsl"
import { planKeys } from "../plan-status.ts"
import { readRunRecord } from "../run-state.ts"
import type { StoreLayout } from "./layout.ts"
import type { RunRecord } from "./records.ts"

export const findIdenticalRun = (plan: Plan.Plan, store: StoreLayout) =>
  Effect.gen(function* () {
    const keys = yield* planKeys(plan, store)
    if ([...keys.values()].some((k) => k.status !== "cached" || k.key === undefined)) return undefined
    const ids = yield* Effect.promise(() => readdir(store.runsDir).catch(() => [] as Array<string>))
    const settings = canonicalJson(plan.settings)
    let found: RunRecord | undefined
    for (const id of ids) {
      const r = yield* Effect.option(readRunRecord(store.runFile(id), id))
      if (r._tag === "None") continue
      const rec = r.value
      if (rec.status !== "succeeded" || rec.pipeline !== plan.pipeline.name || rec.scale !== plan.scale || canonicalJson(rec.settings) !== settings) continue
      if (rec.forced !== undefined || rec.cacheOnly !== undefined) continue
      const nodes = Object.entries(rec.nodes)
      if (nodes.length !== keys.size || nodes.some(([nid, n]) => n.key === undefined || keys.get(nid)?.key !== n.key)) continue
      if (found === undefined || rec.createdAt > found.createdAt) found = rec
    }
    return found
  })
