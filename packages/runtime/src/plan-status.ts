/**
 * What `plan` shows: for each node, its stage key when it can be computed (all
 * inputs already in the cache), whether it is cached, and its outputs' labels.
 */
import { Effect, Schema } from "effect"
import { readFile } from "node:fs/promises"
import { join, resolve } from "node:path"
import type { Plan } from "@dpipe/dsl"
import { stageKey } from "@dpipe/dsl"
import { planFingerprints } from "./code/fingerprint.ts"
import type { Privacy } from "@dpipe/dsl"
import { checkBudgetDeclared, predictSpend, type Spend } from "./privacy.ts"
import { sourceHashes } from "./sources.ts"
import type { StoreLayout } from "./store/layout.ts"
import { Manifest } from "./store/records.ts"

export interface NodePlanStatus {
  readonly id: string
  readonly stage: string
  readonly version: string
  /** The fingerprint of the stage's code (part of the key). */
  readonly code: string
  readonly key: string | undefined
  /**
   * forced: `--force` executes it again under a new key; missing-input: a file or folder
   * it reads (a declared source such as corpus.path) does not exist.
   */
  readonly status: "cached" | "will-run" | "after-upstream" | "forced" | "missing-input"
  readonly outputs: Readonly<Record<string, string>>
  readonly mechanism: boolean
  readonly config: unknown
  readonly perf: unknown
  readonly notes: ReadonlyArray<string>
  readonly refusal: string | undefined
}

export interface PlanReport {
  readonly pipeline: string
  readonly scale: string
  readonly nodes: ReadonlyArray<NodePlanStatus>
  readonly privacy: Spend | undefined
  /** Whether the DP mechanisms run against a budget (`none`: the pipeline opted out; plan says so). */
  readonly budget: Privacy.BudgetStatus
}

/** The config field (node.a.b) whose value is the path, when there is one. */
const settingOf = (value: unknown, path: string, prefix: string): string | undefined => {
  if (value === path) return prefix
  if (value === null || typeof value !== "object") return undefined
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    const found = settingOf(v, path, `${prefix}.${k}`)
    if (found !== undefined) return found
  }
  return undefined
}

const missingSourceNote = (n: Plan.PlannedNode, path: string): string => {
  const setting = settingOf(n.configEncoded, path, n.id)
  return `MISSING INPUT: ${resolve(path)} does not exist` +
    (setting !== undefined ? `; point ${setting} at it (--set ${setting}=PATH)` : "") + "; the stage would fail"
}

/** Each node's key (when its inputs are all in the cache) and whether it is cached. */
export const planKeys = (plan: Plan.Plan, store: StoreLayout) =>
  Effect.gen(function* () {
    const report = yield* planStatuses(plan, store)
    return new Map(report.map((n) => [n.id, { key: n.key, status: n.status }] as const))
  })

export const planReport = (plan: Plan.Plan, store: StoreLayout) =>
  Effect.gen(function* () {
    // A DP mechanism without a budget (and without the explicit opt-out) is refused here.
    const budget = yield* checkBudgetDeclared(plan)
    const nodes = yield* planStatuses(plan, store)
    const privacy = yield* predictSpend(plan)
    const report: PlanReport = { pipeline: plan.pipeline.name, scale: plan.scale, nodes, privacy, budget }
    return report
  })

const planStatuses = (plan: Plan.Plan, store: StoreLayout) =>
  Effect.gen(function* () {
    const codes = yield* planFingerprints(plan)
    const hashes = new Map<string, Readonly<Record<string, string>>>()
    const nodes: Array<NodePlanStatus> = []
    for (const n of plan.nodes) {
      const inputHashes: Record<string, string> = {}
      let known = true
      for (const [name, ref] of Object.entries(n.inputs)) {
        const h = hashes.get(ref.node)?.[ref.output]
        if (h === undefined) known = false
        else inputHashes[name] = h
      }
      let key: string | undefined
      let status: NodePlanStatus["status"] = "after-upstream"
      const sources = yield* Effect.promise(() => sourceHashes(n.sources))
      const missing = n.sources.filter((p) => sources[`source:${resolve(p)}`] === "missing")
      const notes = [...n.notes, ...missing.map((p) => missingSourceNote(n, p))]
      if (missing.length > 0) status = "missing-input"
      else if (plan.forced?.includes(n.id) === true) status = "forced"
      else if (known) {
        key = stageKey({ stage: n.stage.name, version: n.stage.version, code: codes[n.id]!, config: n.configEncoded, inputs: { ...sources, ...inputHashes } })
        const manifest = yield* Effect.promise(async () => {
          try {
            return Schema.decodeUnknownSync(Manifest)(JSON.parse(await readFile(join(store.cacheEntry(key!), "manifest.json"), "utf8")))
          } catch {
            return undefined
          }
        })
        if (manifest !== undefined) {
          status = "cached"
          hashes.set(n.id, Object.fromEntries(Object.entries(manifest.outputs).map(([k, o]) => [k, o.hash])))
        } else status = "will-run"
      }
      nodes.push({ id: n.id, stage: n.stage.name, version: n.stage.version, code: codes[n.id]!, key, status, outputs: n.outputLabels, mechanism: n.isMechanism, config: n.configEncoded, perf: n.perfEncoded, notes, refusal: n.refusal })
    }
    return nodes
  })
