/** `pipeline run` and `pipeline resume`: execute a plan with live progress. */
import { Effect } from "effect"
import { readFile } from "node:fs/promises"
import { join } from "node:path"
import { parseSettings, PlanError, type PipelineGraph } from "@dpipe/dsl"
import { Argument, Command, Flag } from "effect/cli"
import { executeRun } from "../executor.ts"
import type { Reporter } from "../progress/events.ts"
import { jsonLinesReporter, plainReporter, ttyReporter } from "../progress/reporters.ts"
import { loadPipeline, pipelinesDir } from "../pipelines.ts"
import { readRunRecord } from "../run-state.ts"
import { formatDelta, noBudgetNotice } from "../privacy.ts"
import { pipelineCommandLine } from "../command-line.ts"
import type { StoreLayout } from "../store/layout.ts"
import type { RunRecord } from "../store/records.ts"
import { jsonFlag, loadAndPlan, newRunId, optionValue, planGraph, print, scaleFlag, setFlag, storeFlag, storeOf, textTable } from "./common.ts"
import { formatDuration, formatMetrics } from "../progress/format.ts"
import { clusterFlag, dispatchedBy } from "./cluster-command.ts"
import { checkCacheOnly, isEmptySelection, resumeSelection, selectPlan } from "../selection.ts"
import { findIdenticalRun } from "../store/identical-run.ts"
import { selectionFlags, selectionOf } from "./selection-flags.ts"

const reporterFor = (json: boolean): Reporter =>
  json ? jsonLinesReporter() : process.stdout.isTTY ? ttyReporter() : plainReporter()

export const summaryTable = (record: RunRecord): string => {
  const rows = Object.entries(record.nodes).map(([id, n]) => [id, n.stage, n.status, n.durationMs !== undefined ? formatDuration(n.durationMs) : "", n.key?.slice(0, 12) ?? ""])
  const privacy = record.privacy !== undefined
    ? `\nprivacy: epsilon ${Object.entries(record.privacy.epsilon).map(([k, v]) => `${v.toFixed(4)} (${k})`).join(", ")} at delta ${formatDelta(record.privacy.delta)}; budget epsilon ${record.privacy.budgetEpsilon}`
    : ""
  const telemetry = Object.entries(record.nodes)
    .filter(([, n]) => n.telemetry !== undefined && Object.keys(n.telemetry).length > 0)
    .map(([id, n]) => `\ntelemetry ${id}: ${formatMetrics(n.telemetry!)}`)
    .join("")
  return `${textTable(["stage", "kind", "status", "time", "key"], rows)}${telemetry}${privacy}`
}

/** Flattens a JSON summary into "a.b: value" lines. */
const flatten = (value: unknown, prefix = ""): Array<string> => {
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) => flatten(v, prefix === "" ? k : `${prefix}.${k}`))
  }
  const shown = typeof value === "number" ? (Number.isInteger(value) ? String(value) : value.toPrecision(5)) : JSON.stringify(value)
  return [`  ${prefix}: ${shown}`]
}

/** `--private`: the one rule for private values on the terminal (run, resume and inspect alike). */
const privateFlag = Flag.Boolean("private").pipe(Flag.withDescription("print the summary even when it is private (computed from private data without noise)"), Flag.withDefault(false))

/**
 * The run's summary as printed: its values when they may be shown (not private, or
 * `--private`), else one line saying it is private and the command that shows it.
 */
export const summaryText = (args: {
  readonly values: unknown
  readonly label: string
  readonly node: string
  readonly output: string
  readonly runId: string
  readonly store: { readonly root: string }
  readonly showPrivate: boolean
}): string =>
  args.label !== "private" || args.showPrivate
    ? `summary (${args.node}.${args.output}, label ${args.label}):\n${flatten(args.values).join("\n")}`
    : `summary (${args.node}.${args.output}) is private (computed from private data without noise): not shown; ` +
      `add --private, or see it with ${pipelineCommandLine(args.store, "inspect", [args.runId, args.node, "--output", args.output, "--private"])}`

/** Prints the loud no-budget notice (to stderr, so that --json output stays one document per line). */
const warnNoBudget = (plan: Parameters<typeof noBudgetNotice>[0]) =>
  Effect.sync(() => {
    const notice = noBudgetNotice(plan)
    if (notice !== undefined) process.stderr.write(`${notice}\n`)
  })

const execute = (store: StoreLayout, runId: string, json: boolean, graph: PipelineGraph, run: (reporter: Reporter) => Effect.Effect<{ readonly record: RunRecord }, unknown>, showPrivate = false) =>
  Effect.gen(function* () {
    const reporter = reporterFor(json)
    const summary = yield* run(reporter).pipe(Effect.ensuring(Effect.sync(() => reporter.close())))
    if (json) return
    let text = `\n${summaryTable(summary.record)}`
    const s = graph.summary
    const node = s !== undefined ? summary.record.nodes[s.node] : undefined
    const out = s !== undefined ? node?.outputs?.[s.output] : undefined
    if (node?.key !== undefined && out !== undefined) {
      const values = yield* Effect.promise(() => readFile(join(store.cacheEntry(node.key!), out.file), "utf8").then((t) => JSON.parse(t) as unknown).catch(() => undefined))
      if (values !== undefined) text += `\n${summaryText({ values, label: out.label, node: s!.node, output: s!.output, runId, store, showPrivate })}`
    }
    for (const file of Object.keys(graph.publish)) text += `\n${file}: ${join(store.runDir(runId), file)}`
    yield* print(`${text}\nrun ${runId} stored in ${store.runDir(runId)}`)
  })

export const runCommand = Command.make(
  "run",
  {
    pipeline: Argument.String("pipeline").pipe(Argument.withDescription("pipeline name (a file in pipelines/)")),
    scale: scaleFlag,
    set: setFlag,
    store: storeFlag,
    json: jsonFlag,
    runId: Flag.String("run-id").pipe(Flag.withDescription("name the run (default: <pipeline>-<time>-<random>)"), Flag.optional),
    ...selectionFlags,
    showPrivate: privateFlag,
    newRun: Flag.Boolean("new-run").pipe(Flag.withDescription("record a new run even when an identical earlier run has every stage cached"), Flag.withDefault(false)),
    cluster: clusterFlag
  },
  (a) =>
    Effect.gen(function* () {
      const selection = selectionOf(a)
      const plan = yield* selectPlan(yield* loadAndPlan(a.pipeline, optionValue(a.scale), a.set), selection)
      const store = storeOf(a.store)
      yield* checkCacheOnly(plan, store)
      if (optionValue(a.runId) === undefined && !a.newRun && isEmptySelection(selection)) {
        // Nothing would change: show the identical earlier run instead of adding one.
        const same = yield* findIdenticalRun(plan, store)
        if (same !== undefined) {
          if (a.json) return yield* print(JSON.stringify({ type: "identical-run", runId: same.runId, status: same.status }))
          return yield* print(`${summaryTable(same)}\nevery stage is cached and run ${same.runId} has the same pipeline, scale, settings and stage keys: nothing new to run or record ` +
            `(results in ${store.runDir(same.runId)}; add --new-run to record a new run anyway)`)
        }
      }
      const runId = optionValue(a.runId) ?? newRunId(a.pipeline)
      yield* warnNoBudget(plan)
      yield* execute(store, runId, a.json, plan.pipeline, (reporter) => executeRun({ store, plan, runId, reporter }).pipe(dispatchedBy(a.cluster, store)), a.showPrivate)
    })
).pipe(Command.withDescription("Run a pipeline: stages already in the cache are reused, the rest execute."))

export const resumeCommand = Command.make(
  "resume",
  {
    runId: Argument.String("run-id").pipe(Argument.withDescription("the run to continue (see `pipeline runs`)")),
    set: setFlag.pipe(Flag.withDescription("change a setting before continuing: --set node.field=value (repeatable); stages whose key it changes run again, the others stay cached")),
    store: storeFlag,
    json: jsonFlag,
    showPrivate: privateFlag,
    cluster: clusterFlag
  },
  (a) =>
    Effect.gen(function* () {
      const store = storeOf(a.store)
      const previous = yield* readRunRecord(store.runFile(a.runId), a.runId)
      const parsed = parseSettings(a.set)
      if ("error" in parsed) return yield* new PlanError({ reason: "unknown-setting", message: parsed.error })
      const graph = yield* loadPipeline(pipelinesDir(), previous.pipeline)
      const plan = resumeSelection(yield* planGraph(graph, previous.scale, { ...previous.settings, ...parsed.settings }), previous)
      yield* warnNoBudget(plan)
      yield* execute(store, a.runId, a.json, plan.pipeline, (reporter) => executeRun({ store, plan, runId: a.runId, previous, reporter }).pipe(dispatchedBy(a.cluster, store)), a.showPrivate)
    })
).pipe(Command.withDescription("Continue a failed or interrupted run: finished stages are reused, interrupted ones restart from their last checkpoint."))
