/** `pipeline list`, `plan`, `status` and `runs`: read-only views of pipelines and the store. */
import { Effect } from "effect"
import { Argument, Command } from "effect/cli"
import { readdir } from "node:fs/promises"
import { Privacy } from "@dpipe/dsl"
import { listPipelines, loadPipeline, pipelinesDir } from "../pipelines.ts"
import { planReport } from "../plan-status.ts"
import { checkDatasetBudgets, describeForecast } from "../dataset-budget.ts"
import { readRunRecord } from "../run-state.ts"
import { formatDelta } from "../privacy.ts"
import { RunNotFound } from "../errors.ts"
import type { RunRecord } from "../store/records.ts"
import type { StoreLayout } from "../store/layout.ts"
import { withLiveStatus } from "../store/live-status.ts"
import { listCheckpointSteps } from "../store/checkpoints.ts"
import { checkCacheOnly, selectPlan } from "../selection.ts"
import { forcedSpend } from "../forced-spend.ts"
import { pipelineCommandLine, resumeCommandLine } from "../command-line.ts"
import { selectionFlags, selectionOf } from "./selection-flags.ts"
import { jsonFlag, loadAndPlan, optionValue, print, scaleFlag, setFlag, storeFlag, storeOf, textTable } from "./common.ts"
import { summaryTable } from "./run-commands.ts"

export const listCommand = Command.make("list", { json: jsonFlag }, (a) =>
  Effect.gen(function* () {
    const dir = pipelinesDir()
    const names = yield* listPipelines(dir)
    const rows: Array<{ name: string; description: string; scales: Array<string>; defaultScale: string }> = []
    for (const name of names) {
      const g = yield* loadPipeline(dir, name)
      rows.push({ name, description: g.description, scales: Object.keys(g.scales), defaultScale: g.defaultScale })
    }
    if (a.json) return yield* print(JSON.stringify(rows))
    yield* print(textTable(["pipeline", "scales (default first)", "description"], rows.map((r) => [r.name, [r.defaultScale, ...r.scales.filter((s) => s !== r.defaultScale)].join(", "), r.description])))
  })
).pipe(Command.withDescription("List the pipelines in pipelines/."))

export const planCommand = Command.make(
  "plan",
  { pipeline: Argument.String("pipeline"), scale: scaleFlag, set: setFlag, store: storeFlag, json: jsonFlag, ...selectionFlags },
  (a) =>
    Effect.gen(function* () {
      const plan = yield* selectPlan(yield* loadAndPlan(a.pipeline, optionValue(a.scale), a.set), selectionOf(a))
      const store = storeOf(a.store)
      yield* checkCacheOnly(plan, store)
      const report = yield* planReport(plan, store)
      // Refuses (non-zero exit) a plan that would push a private dataset past its store-wide budget.
      const datasets = yield* checkDatasetBudgets(plan, store)
      const respent = yield* forcedSpend(plan)
      // The pipeline's parameters as resolved (params.ts) and the plan's warnings (also on stderr).
      const paramsAndWarnings = { ...(plan.params !== undefined ? { params: plan.params } : {}), ...((plan.warnings ?? []).length > 0 ? { warnings: plan.warnings } : {}) }
      if (a.json) return yield* print(JSON.stringify({ ...report, ...paramsAndWarnings, datasets, ...(respent.length > 0 ? { forcedSpend: respent } : {}) }, null, 2))
      const rows = report.nodes.map((n) => [
        n.id,
        `${n.stage}@${n.version}${n.mechanism ? " (DP)" : ""}`,
        n.status,
        n.key?.slice(0, 12) ?? "-",
        Object.entries(n.outputs).map(([k, l]) => `${k}:${l}`).join(" ")
      ])
      const params = plan.params !== undefined ? `\nparameters (--set params.NAME=VALUE): ${Object.entries(plan.params).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(", ")}` : ""
      let text = `pipeline ${report.pipeline}, scale ${report.scale}${params}\n${textTable(["node", "stage", "status", "key", "outputs (privacy label)"], rows)}`
      for (const n of report.nodes) {
        for (const note of n.notes) text += `\n${n.id}: ${note}`
        if (n.refusal !== undefined) text += `\n${n.id}: CANNOT RUN HERE: ${n.refusal}`
      }
      if (report.privacy !== undefined) {
        const eps = Object.entries(report.privacy.epsilon).map(([k, v]) => `${v.toFixed(4)} (${k})`).join(", ")
        text += `\npredicted privacy spend: epsilon ${eps} at delta ${formatDelta(report.privacy.delta)}; budget epsilon ${report.privacy.budgetEpsilon}` +
          (report.privacy.primary > report.privacy.budgetEpsilon ? "  OVER BUDGET: run will refuse" : "")
      }
      if (report.budget._tag === "none") text += `\n${Privacy.noBudgetWarning(report.pipeline, report.budget.mechanisms)}`
      for (const f of respent) {
        text += `\n${f.node}: FORCED: a DP stage executed again draws fresh noise and spends privacy again: epsilon ${Object.entries(f.epsilon).map(([k, v]) => `${v.toFixed(4)} (${k})`).join(", ")} ` +
          `on top of what its cached release already spent`
      }
      for (const f of datasets) text += `\nprivate ${describeForecast(f)}`
      yield* print(text)
    })
).pipe(Command.withDescription("Show the DAG, stage keys, cache hits, privacy labels and the predicted privacy cost (per run and per private dataset)."))

const listRuns = (store: StoreLayout) =>
  Effect.gen(function* () {
    const ids = yield* Effect.promise(async () => {
      try {
        return await readdir(store.runsDir)
      } catch {
        return []
      }
    })
    const records: Array<RunRecord> = []
    for (const id of ids) {
      const r = yield* Effect.option(readRunRecord(store.runFile(id), id))
      if (r._tag === "Some") records.push(yield* Effect.promise(() => withLiveStatus(store, r.value)))
    }
    return records.sort((a, b) => (a.createdAt < b.createdAt ? -1 : 1))
  })

export const runsCommand = Command.make("runs", { store: storeFlag, json: jsonFlag }, (a) =>
  Effect.gen(function* () {
    const records = yield* listRuns(storeOf(a.store))
    if (a.json) return yield* print(JSON.stringify(records.map((r) => ({ runId: r.runId, pipeline: r.pipeline, scale: r.scale, status: r.status, createdAt: r.createdAt, privacy: r.privacy }))))
    yield* print(textTable(
      ["run", "pipeline", "scale", "status", "created", "epsilon"],
      records.map((r) => [r.runId, r.pipeline, r.scale, r.status, r.createdAt, r.privacy !== undefined ? Object.values(r.privacy.epsilon)[0]?.toFixed(4) ?? "" : ""])
    ))
  })
).pipe(Command.withDescription("List the runs in the store."))

export const statusCommand = Command.make(
  "status",
  { runId: Argument.String("run-id").pipe(Argument.optional), store: storeFlag, json: jsonFlag },
  (a) =>
    Effect.gen(function* () {
      const store = storeOf(a.store)
      let id = optionValue(a.runId)
      if (id === undefined) {
        const last = (yield* listRuns(store)).at(-1)
        if (last === undefined) return yield* new RunNotFound({ runId: "", message: `No runs in ${store.root} yet. Start one with \`${pipelineCommandLine(store, "run", ["<pipeline>"]).replace("'<pipeline>'", "<pipeline>")}\`.` })
        id = last.runId
      }
      const read = yield* readRunRecord(store.runFile(id), id)
      const record = yield* Effect.promise(() => withLiveStatus(store, read))
      if (a.json) return yield* print(JSON.stringify(record, null, 2))
      yield* print(`run ${record.runId}: ${record.pipeline}, scale ${record.scale}, ${record.status} (updated ${record.updatedAt})\n${summaryTable(record)}`)
      const failed = Object.entries(record.nodes).filter(([, n]) => n.status === "failed" || n.status === "blocked")
      for (const [idn, n] of failed) yield* print(`  ${idn}: ${n.error ?? ""}`)
      for (const [idn, n] of Object.entries(record.nodes)) {
        if (n.status !== "interrupted") continue
        const step = (yield* Effect.promise(() => listCheckpointSteps(store.checkpointsDir(record.runId, idn))))[0]
        yield* print(`  ${idn}: interrupted; ${step !== undefined ? `last checkpoint at step ${step}: resume continues from there` : "no checkpoint yet: resume starts it from the beginning"}`)
      }
      if (record.status !== "succeeded") {
        yield* print(`continue with: ${resumeCommandLine(store, record.runId)}` + (failed.length > 0 ? "  (when a setting caused the failure, add --set node.field=VALUE)" : ""))
      }
    })
).pipe(Command.withDescription("Show a run's status per stage (default: the latest run)."))
