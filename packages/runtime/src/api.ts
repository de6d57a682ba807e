/**
 * The programmatic API: run, resume and plan pipelines from TypeScript (tests,
 * notebooks, other tools) with the same semantics as the CLI.
 */
import { Effect } from "effect"
import type { PipelineGraph, Settings } from "@dpipe/dsl"
import { Plan, PlanError } from "@dpipe/dsl"
import { executeRun, type RunSummary } from "./executor.ts"
import type { Reporter } from "./progress/events.ts"
import { collectingReporter } from "./progress/events.ts"
import { readRunRecord } from "./run-state.ts"
import { layout } from "./store/layout.ts"
import { newRunId } from "./cli/common.ts"

export interface RunOptions {
  /** Store root directory. */
  readonly store: string
  readonly scale?: string
  readonly settings?: Settings
  readonly runId?: string
  readonly reporter?: Reporter
}

export const planPipeline = (graph: PipelineGraph, options: { readonly scale?: string; readonly settings?: Settings } = {}) =>
  Effect.suspend(() => {
    const r = Plan.makePlan(graph, { scale: options.scale, settings: options.settings ?? {} })
    return r.ok ? Effect.succeed(r.value) : Effect.fail(r.error)
  })

/** Runs a pipeline; fails with PlanError, RunLocked, RunFailed, StoreError, ... */
export const runPipeline = (graph: PipelineGraph, options: RunOptions) =>
  Effect.gen(function* () {
    const plan = yield* planPipeline(graph, options)
    const runId = options.runId ?? newRunId(graph.name)
    const summary: RunSummary = yield* executeRun({ store: layout(options.store), plan, runId, reporter: options.reporter ?? collectingReporter() })
    return summary
  })

/** Resumes a run of `graph` recorded in the store. */
export const resumePipeline = (graph: PipelineGraph, options: { readonly store: string; readonly runId: string; readonly reporter?: Reporter }) =>
  Effect.gen(function* () {
    const store = layout(options.store)
    const previous = yield* readRunRecord(store.runFile(options.runId), options.runId)
    if (previous.pipeline !== graph.name) {
      return yield* new PlanError({ reason: "unknown-reference", message: `Run ${options.runId} is of pipeline ${previous.pipeline}, not ${graph.name}.` })
    }
    const plan = yield* planPipeline(graph, { scale: previous.scale, settings: previous.settings })
    const summary: RunSummary = yield* executeRun({ store, plan, runId: options.runId, previous, reporter: options.reporter ?? collectingReporter() })
    return summary
  })
