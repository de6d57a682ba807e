/** Flags and helpers shared by the `pipeline` CLI's verbs. */
import { Effect } from "effect"
import { Flag } from "effect/cli"
import { randomBytes } from "node:crypto"
import { parseSettings, Plan, type PipelineGraph, type Settings } from "@dpipe/dsl"
import { PlanError } from "@dpipe/dsl"
import { defaultStoreRoot, layout } from "../store/layout.ts"
import { loadPipeline, pipelinesDir } from "../pipelines.ts"

export const storeFlag = Flag.String("store").pipe(
  Flag.withDescription("run store directory (default: $DPIPE_STORE or ./.dpipe)"),
  Flag.optional
)
export const jsonFlag = Flag.Boolean("json").pipe(Flag.withDescription("machine-readable output (JSON)"), Flag.withDefault(false))
export const scaleFlag = Flag.String("scale").pipe(Flag.withDescription("scale preset of the pipeline (see `plan`)"), Flag.optional)
export const setFlag = Flag.String("set").pipe(
  Flag.withDescription("override a setting: --set node.field=value (repeatable)"),
  Flag.atLeast(0)
)

export const storeOf = (store: { readonly _tag: "Some"; readonly value: string } | { readonly _tag: "None" }) =>
  layout(defaultStoreRoot(store._tag === "Some" ? store.value : undefined))

export const optionValue = <A>(o: { readonly _tag: "Some"; readonly value: A } | { readonly _tag: "None" }): A | undefined =>
  o._tag === "Some" ? o.value : undefined

/** Loads a pipeline and plans it with the scale and settings, or fails with a PlanError. */
export const loadAndPlan = (name: string, scale: string | undefined, sets: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const parsed = parseSettings(sets)
    if ("error" in parsed) return yield* new PlanError({ reason: "unknown-setting", message: parsed.error })
    const graph: PipelineGraph = yield* loadPipeline(pipelinesDir(), name)
    return yield* planGraph(graph, scale, parsed.settings)
  })

export const planGraph = (graph: PipelineGraph, scale: string | undefined, settings: Settings) =>
  Effect.gen(function* () {
    const planned = Plan.makePlan(graph, { scale, settings })
    if (!planned.ok) return yield* planned.error
    // Plan-time warnings (a declared match broken, a derived value overridden) go to stderr, before anything runs.
    for (const w of planned.value.warnings ?? []) yield* Effect.sync(() => void process.stderr.write(`warning: ${w}\n`))
    return planned.value
  })

/** A new run id: <pipeline>-<yyyymmdd-hhmmss>-<4 hex>. */
export const newRunId = (pipeline: string): string => {
  const d = new Date()
  const p = (n: number) => String(n).padStart(2, "0")
  return `${pipeline}-${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}-${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}-${randomBytes(2).toString("hex")}`
}

export const print = (s: string) => Effect.sync(() => void process.stdout.write(s.endsWith("\n") ? s : s + "\n"))

/** A fixed-width text table. */
export const textTable = (header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>): string => {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)))
  const fmt = (r: ReadonlyArray<string>) => r.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd()
  return [fmt(header), fmt(widths.map((w) => "-".repeat(w))), ...rows.map(fmt)].join("\n")
}
