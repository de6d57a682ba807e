/**
 * Stage selection for `run` and `plan`, as in DVC (`repro --force`, `--single-item`) and
 * Dagster (asset selection):
 *
 * - `--force <node>`: execute the node and every node that depends on it even when they
 *   are cached. A forced execution is keyed with the run id added to its inputs, so it
 *   is a new cache entry: a DP stage draws fresh noise and spends privacy again (it is
 *   a new release), and the original entries stay for later runs.
 * - `--until <node>`: only the node and its ancestors.
 * - `--only <node>`: only the node; its ancestors are reused from the cache and never
 *   executed (an ancestor that is not cached is an error before anything runs).
 *
 * Each flag is repeatable; `--only` and `--until` combine by union.
 */
import { Effect } from "effect"
import type { Plan } from "@dpipe/dsl"
import { PlanError } from "@dpipe/dsl"
import { planKeys } from "./plan-status.ts"
import type { StoreLayout } from "./store/layout.ts"
import type { RunRecord } from "./store/records.ts"

export interface Selection {
  readonly force: ReadonlyArray<string>
  readonly only: ReadonlyArray<string>
  readonly until: ReadonlyArray<string>
}

export const emptySelection: Selection = { force: [], only: [], until: [] }

export const isEmptySelection = (s: Selection): boolean => s.force.length === 0 && s.only.length === 0 && s.until.length === 0

/** Edit distance (for "did you mean"). */
const distance = (a: string, b: string): number => {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!
    row[0] = i
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1))
      prev = cur
    }
  }
  return row[b.length]!
}

const unknownNode = (plan: Plan.Plan, flag: string, id: string): PlanError => {
  const ids = plan.nodes.map((n) => n.id)
  const nearest = [...ids].sort((x, y) => distance(id, x) - distance(id, y))[0]
  const hint = nearest !== undefined && distance(id, nearest) <= Math.max(2, Math.floor(id.length / 3)) ? ` Did you mean ${nearest}?` : ""
  return new PlanError({
    reason: "unknown-reference",
    node: id,
    message: `--${flag} ${id}: pipeline ${plan.pipeline.name} has no node "${id}".${hint} Its nodes: ${ids.join(", ")}.`
  })
}

/** The node and every node upstream of it. */
const ancestors = (plan: Plan.Plan, ids: Iterable<string>): Set<string> => {
  const byId = new Map(plan.nodes.map((n) => [n.id, n] as const))
  const out = new Set<string>()
  const visit = (id: string) => {
    if (out.has(id)) return
    out.add(id)
    for (const d of byId.get(id)?.dependsOn ?? []) visit(d)
  }
  for (const id of ids) visit(id)
  return out
}

/** The node and every node downstream of it. */
const descendants = (plan: Plan.Plan, ids: Iterable<string>): Set<string> => {
  const out = new Set<string>(ids)
  // plan.nodes is in topological order: one pass suffices.
  for (const n of plan.nodes) if (n.dependsOn.some((d) => out.has(d))) out.add(n.id)
  return out
}

/** The plan restricted to the selection, with its forced and cache-only nodes. */
export const selectPlan = (plan: Plan.Plan, selection: Selection): Effect.Effect<Plan.Plan, PlanError> =>
  Effect.gen(function* () {
    const ids = new Set(plan.nodes.map((n) => n.id))
    for (const [flag, list] of [["force", selection.force], ["only", selection.only], ["until", selection.until]] as const) {
      for (const id of list) if (!ids.has(id)) return yield* unknownNode(plan, flag, id)
    }
    if (isEmptySelection(selection)) return plan
    const subset = selection.only.length === 0 && selection.until.length === 0
    const executable = subset ? ids : new Set([...ancestors(plan, selection.until), ...selection.only])
    const included = subset ? ids : new Set([...executable, ...ancestors(plan, selection.only)])
    const cacheOnly = [...included].filter((id) => !executable.has(id))
    const forced = [...descendants(plan, selection.force)].filter((id) => executable.has(id))
    const outside = selection.force.filter((id) => !executable.has(id))
    if (outside.length > 0) {
      return yield* new PlanError({
        reason: "unknown-reference",
        node: outside[0],
        message: `--force ${outside.join(", ")}: not among the stages this run executes (--only/--until select ${[...executable].join(", ")}). Select it too, or drop --force.`
      })
    }
    const nodes = plan.nodes.filter((n) => included.has(n.id))
    return { ...plan, nodes, ...(forced.length > 0 ? { forced: nodes.filter((n) => forced.includes(n.id)).map((n) => n.id) } : {}), ...(cacheOnly.length > 0 ? { cacheOnly: nodes.filter((n) => cacheOnly.includes(n.id)).map((n) => n.id) } : {}) }
  })

/**
 * `--only`'s condition, checked before anything runs: every node it reuses is in the
 * cache. Fails naming the missing ones and the command that computes them.
 */
export const checkCacheOnly = (plan: Plan.Plan, store: StoreLayout) =>
  Effect.gen(function* () {
    const cacheOnly = plan.cacheOnly ?? []
    if (cacheOnly.length === 0) return
    const keys = yield* planKeys(plan, store)
    const missing = cacheOnly.filter((id) => keys.get(id)?.status !== "cached")
    if (missing.length === 0) return
    const selected = plan.nodes.filter((n) => !cacheOnly.includes(n.id)).map((n) => n.id)
    return yield* new PlanError({
      reason: "unknown-reference",
      node: missing[0],
      message: `--only ${selected.join(", ")} reuses its upstream stages from the cache, but ${missing.join(", ")} ${missing.length === 1 ? "is" : "are"} not cached ` +
        `(for this scale and settings). Compute ${missing.length === 1 ? "it" : "them"} first with --until ${missing.at(-1)}, or run with --until ${selected.join(" --until ")} instead of --only.`
    })
  })

/** On resume: the same nodes, forced and cache-only ones as the run started with. */
export const resumeSelection = (plan: Plan.Plan, previous: RunRecord): Plan.Plan => {
  const ids = new Set(Object.keys(previous.nodes))
  const nodes = plan.nodes.filter((n) => ids.has(n.id))
  return {
    ...plan,
    nodes,
    ...(previous.forced !== undefined ? { forced: previous.forced } : {}),
    ...(previous.cacheOnly !== undefined ? { cacheOnly: previous.cacheOnly } : {})
  }
}
