/**
 * Plan: validates a pipeline graph with a scale and settings, before anything runs.
 *
 * Checks, each a PlanError that names the node and the field path, all reported
 * together in one error (plan-errors.ts): unknown scale; the pipeline's parameters
 * (params.ts); unknown `--set` key (with the nearest valid key, suggest.ts); config and
 * perf flags decoded by each stage's Schema; inputs wired to existing outputs of the
 * same artifact type; no cycles; privacy labels (an input that requires `public` data
 * refuses `private` or `dp` data). The result lists nodes in topological order with
 * their decoded config and the privacy label of every output, the resolved parameters
 * and the warnings (a declared match broken, a derived value overridden).
 */
import { Exit, Schema, SchemaAST, SchemaIssue } from "effect"
import type { ArtifactSpec } from "./artifact.ts"
import { specTypeName } from "./artifact.ts"
import type { NodeSpec, PipelineGraph, Settings } from "./pipeline.ts"
import type { PrivacyLabel } from "./privacy.ts"
import { joinLabels, propagate, satisfies, unionProvenance } from "./privacy.ts"
import { PARAMS, paramNames, paramWarnings, resolveParams } from "./params.ts"
import { planErrors } from "./plan-errors.ts"
import { setPath } from "./settings.ts"
import { suggestKey } from "./suggest.ts"
import type { AnyStage, DatasetDeclaration } from "./stage.ts"
import { tableSignature } from "./table-schema.ts"

export const PlanErrorReason = Schema.Literals([
  "unknown-scale",
  "unknown-setting",
  "invalid-config",
  "unknown-reference",
  "unwired-input",
  "type-mismatch",
  "cycle",
  "privacy",
  "budget",
  "preflight"
])

export class PlanError extends Schema.TaggedError<PlanError>()("PlanError", {
  reason: PlanErrorReason,
  /** The node at fault, when there is one. */
  node: Schema.optional(Schema.String),
  /** The offending setting or field path, e.g. "train.steps". */
  path: Schema.optional(Schema.String),
  message: Schema.String,
  /** Every problem `plan` found, when there are several (the message lists them all; the fields above are the first's). */
  problems: Schema.optional(Schema.Array(Schema.Struct({
    reason: PlanErrorReason,
    node: Schema.optional(Schema.String),
    path: Schema.optional(Schema.String),
    message: Schema.String
  })))
}) {}

export interface PlannedNode {
  readonly id: string
  readonly stage: AnyStage
  /** Decoded semantic config (goes into the stage key, encoded). */
  readonly config: unknown
  readonly configEncoded: unknown
  /** Decoded performance flags (recorded, never keyed). */
  readonly perf: unknown
  readonly perfEncoded: unknown
  readonly inputs: Readonly<Record<string, { readonly node: string; readonly output: string }>>
  readonly dependsOn: ReadonlyArray<string>
  readonly outputLabels: Readonly<Record<string, PrivacyLabel>>
  readonly isMechanism: boolean
  /** DP events this node is predicted to spend (mechanisms only). */
  readonly predictedEvents: ReadonlyArray<unknown>
  /**
   * When private data enters the pipeline here (a source stage with a private output):
   * the dataset, as the stage declares it or, failing that, named by this node.
   */
  readonly datasetOrigin: DatasetDeclaration | undefined
  /** Mechanisms: the nodes where the private datasets of its private inputs enter (provenance). */
  readonly spendsOn: ReadonlyArray<string>
  /** External files or folders the stage reads (hashed into its key by the runtime). */
  readonly sources: ReadonlyArray<string>
  /** Lines for `plan` (compute estimates, assumptions). */
  readonly notes: ReadonlyArray<string>
  /** Why this node cannot run on this machine, if it cannot. */
  readonly refusal: string | undefined
}

export interface Plan {
  readonly pipeline: PipelineGraph
  readonly scale: string
  /** The user's --set settings, as given. */
  readonly settings: Settings
  readonly nodes: ReadonlyArray<PlannedNode>
  /** The pipeline's parameters as resolved for this scale and settings (encoded), when it declares any. */
  readonly params?: Readonly<Record<string, unknown>> | undefined
  /** Things `plan` and `run` print but that do not stop a run (a declared match broken, a derived value overridden). */
  readonly warnings?: ReadonlyArray<string> | undefined
  /**
   * Stage selection (the runtime's `run --force/--only/--until`): nodes to execute again
   * even when cached (under a key salted with the run id, so a DP stage draws fresh noise
   * and spends again), and nodes that may only be reused from the cache, never executed.
   */
  readonly forced?: ReadonlyArray<string> | undefined
  readonly cacheOnly?: ReadonlyArray<string> | undefined
}

/** Leaf paths of a struct schema ("a", "b.c", ...); a non-struct has the single path "". */
const leafPaths = (ast: SchemaAST.AST, prefix: string): Array<string> => {
  if (!SchemaAST.isObjects(ast) || ast.propertySignatures.length === 0) return prefix === "" ? [] : [prefix]
  return ast.propertySignatures.flatMap((ps) => leafPaths(ps.type, prefix === "" ? String(ps.name) : `${prefix}.${String(ps.name)}`))
}

/** True when `path` names a field (leaf or sub-struct) of the struct schema. */
const hasPath = (ast: SchemaAST.AST, path: ReadonlyArray<string>): boolean => {
  const [head, ...rest] = path
  if (head === undefined) return true
  if (!SchemaAST.isObjects(ast)) return false
  const ps = ast.propertySignatures.find((p) => String(p.name) === head)
  return ps !== undefined && hasPath(ps.type, rest)
}

/** Every valid `--set` key of a graph, for error messages and `--help`. */
export const validSettingKeys = (graph: PipelineGraph): Array<string> => [
  ...(graph.params !== undefined ? paramNames(graph.params).map((p) => `${PARAMS}.${p}`) : []),
  ...graph.nodes.flatMap((n) => [
    ...leafPaths(n.stage.config.ast, "").map((p) => `${n.id}.${p}`),
    ...leafPaths(n.stage.perf.ast, "").map((p) => `${n.id}.${p}`)
  ])
]

const formatter = SchemaIssue.makeFormatterStandardSchemaV1()

const decode = (
  schema: Schema.Codec<unknown, unknown>,
  value: unknown,
  node: string
): { readonly ok: true; readonly value: unknown; readonly encoded: unknown } | { readonly ok: false; readonly errors: ReadonlyArray<PlanError> } => {
  const exit = Schema.decodeUnknownExit(schema)(value, { onExcessProperty: "error" })
  if (Exit.isSuccess(exit)) {
    const encoded = Schema.encodeUnknownSync(schema)(exit.value)
    return { ok: true, value: exit.value, encoded }
  }
  const failure = exit.cause.reasons.find((r) => r._tag === "Fail")
  const err = failure !== undefined && "error" in failure ? (failure.error as Schema.SchemaError) : undefined
  const issues = err !== undefined ? formatter(err.issue).issues : []
  // Every issue of the node, not only the first.
  return {
    ok: false,
    errors: (issues.length > 0 ? issues : [undefined]).map((issue) => {
      const path = [node, ...(issue?.path ?? []).map(String)].join(".")
      return new PlanError({
        reason: "invalid-config",
        node,
        path,
        message: `Invalid setting ${path}: ${issue?.message ?? String(err?.message ?? "invalid config")}. Fix it in the pipeline, the scale preset, or with --set ${path}=VALUE.`
      })
    })
  }
}

const specsMatch = (input: ArtifactSpec, output: ArtifactSpec): boolean => {
  if (input.kind !== output.kind || specTypeName(input) !== specTypeName(output)) return false
  if (input.kind === "table" && output.kind === "table") return tableSignature(input.table) === tableSignature(output.table)
  return true
}

type Result<A> = { readonly ok: true; readonly value: A } | { readonly ok: false; readonly error: PlanError }

/** Validates and resolves a pipeline for a scale and settings. */
export const makePlan = (graph: PipelineGraph, options: { readonly scale?: string | undefined; readonly settings?: Settings }): Result<Plan> => {
  // Every problem is collected and reported together (plan-errors.ts); a phase whose
  // results later phases need stops the plan there.
  const problems: Array<PlanError> = []
  const fail = (error?: PlanError): Result<Plan> => ({ ok: false, error: planErrors(error !== undefined ? [...problems, error] : problems) })
  const scale = options.scale ?? graph.defaultScale
  const scaleSettings = graph.scales[scale]
  if (scaleSettings === undefined && Object.keys(graph.scales).length > 0) {
    problems.push(new PlanError({
      reason: "unknown-scale",
      message: `Unknown scale "${scale}" for pipeline ${graph.name}.${suggestKey(scale, Object.keys(graph.scales))} Available scales: ${Object.keys(graph.scales).join(", ")}.`
    }))
  }
  const userSettings = options.settings ?? {}
  const byId = new Map(graph.nodes.map((n) => [n.id, n] as const))

  // Parameters (params.ts): resolved first, their derived node settings lie under the scale's and --set's.
  const layers = [["scale " + scale, scaleSettings ?? {}], ["--set", userSettings]] as const
  let derived: Settings = {}
  let resolvedParams: Readonly<Record<string, unknown>> | undefined
  if (graph.params !== undefined) {
    const r = resolveParams(graph.params, layers)
    if (r.ok) {
      derived = r.derived
      resolvedParams = r.encoded
    } else for (const p of r.problems) problems.push(new PlanError(p))
  }

  // Settings: check every key names a node and a field of its config or perf flags.
  const valid = validSettingKeys(graph)
  const perNode = new Map<string, { config: Record<string, unknown>; perf: Record<string, unknown> }>()
  for (const n of graph.nodes) perNode.set(n.id, { config: { ...n.config }, perf: { ...n.perf } })
  for (const [source, settings] of [["the pipeline's parameters", derived], ...layers] as const) {
    for (const [key, value] of Object.entries(settings)) {
      const [nodeId = "", ...path] = key.split(".")
      if (nodeId === PARAMS && graph.params !== undefined) continue
      const node = byId.get(nodeId)
      const target = perNode.get(nodeId)
      const inConfig = node !== undefined && hasPath(node.stage.config.ast, path)
      const inPerf = node !== undefined && hasPath(node.stage.perf.ast, path)
      if (node === undefined || target === undefined || path.length === 0 || (!inConfig && !inPerf)) {
        // The nearest valid key, and the node's own keys when they are few; never the whole list.
        const close = valid.filter((k) => k.startsWith(`${nodeId}.`))
        const own = close.length > 0 && close.length <= 16 ? ` Valid keys of ${nodeId}: ${close.join(", ")}.` : ""
        const nodes = node === undefined ? ` Nodes: ${graph.nodes.map((n) => n.id).join(", ")}${graph.params !== undefined ? `, and ${PARAMS} (the pipeline's parameters)` : ""}.` : ""
        const hint = suggestKey(key, valid)
        problems.push(new PlanError({
          reason: "unknown-setting",
          path: key,
          message: `Unknown setting "${key}" (from ${source}).${hint}${own}${hint === "" ? nodes : ""}`
        }))
        continue
      }
      if (inConfig) target.config = setPath(target.config, path, value)
      else target.perf = setPath(target.perf, path, value)
    }
  }

  // Wiring: every input wired to an existing output of the same type.
  for (const n of graph.nodes) {
    for (const [name, spec] of Object.entries(n.stage.inputs)) {
      const ref = n.inputs[name]
      if (ref === undefined) {
        problems.push(new PlanError({
          reason: "unwired-input",
          node: n.id,
          path: `${n.id}.${name}`,
          message: `Input "${name}" of node ${n.id} (stage ${n.stage.name}) is not wired: connect it to an output of type ${specTypeName(spec)}.`
        }))
        continue
      }
      const src = byId.get(ref.node)
      const out = src?.stage.outputs[ref.output]
      if (src === undefined || out === undefined) {
        problems.push(new PlanError({
          reason: "unknown-reference",
          node: n.id,
          path: `${n.id}.${name}`,
          message: `Input "${name}" of node ${n.id} is wired to ${ref.node}.${ref.output}, which does not exist.${suggestKey(`${ref.node}.${ref.output}`, graph.nodes.flatMap((m) => Object.keys(m.stage.outputs).map((o) => `${m.id}.${o}`)))}`
        }))
        continue
      }
      if (!specsMatch(spec, out)) {
        problems.push(new PlanError({
          reason: "type-mismatch",
          node: n.id,
          path: `${n.id}.${name}`,
          message: `Input "${name}" of node ${n.id} expects ${describe(spec)} but ${ref.node}.${ref.output} is ${describe(out)}.`
        }))
      }
    }
    for (const name of Object.keys(n.inputs)) {
      if (!(name in n.stage.inputs)) {
        problems.push(new PlanError({
          reason: "unknown-reference",
          node: n.id,
          path: `${n.id}.${name}`,
          message: `Node ${n.id} wires an input "${name}" that stage ${n.stage.name} does not have (inputs: ${Object.keys(n.stage.inputs).join(", ") || "none"}).`
        }))
      }
    }
  }

  // With the wiring broken there is no order: report the config problems too, then stop.
  if (problems.length > 0) {
    for (const n of graph.nodes) {
      const settings = perNode.get(n.id)!
      for (const [schema, value] of [[n.stage.config, settings.config], [n.stage.perf, settings.perf]] as const) {
        const r = decode(schema, value, n.id)
        if (!r.ok) problems.push(...r.errors)
      }
    }
    return fail()
  }

  // Topological order (Kahn); what is left over lies on a cycle.
  const order = topologicalOrder(graph.nodes)
  if (order.length < graph.nodes.length) {
    const stuck = graph.nodes.filter((n) => !order.includes(n)).map((n) => n.id)
    return fail(new PlanError({
      reason: "cycle",
      node: stuck[0],
      message: `Pipeline ${graph.name} has a cycle through nodes ${stuck.join(" -> ")}: a stage cannot depend on its own outputs.`
    }))
  }

  // Config decoding, privacy labels and provenance, in order.
  const labels = new Map<string, PrivacyLabel>()
  const provenance = new Map<string, ReadonlyArray<string>>()
  const planned: Array<PlannedNode> = []
  for (const n of order) {
    const settings = perNode.get(n.id)!
    const config = decode(n.stage.config, settings.config, n.id)
    const perf = decode(n.stage.perf, settings.perf, n.id)
    if (!config.ok || !perf.ok) {
      if (!config.ok) problems.push(...config.errors)
      if (!perf.ok) problems.push(...perf.errors)
      continue
    }
    const inputLabels: Array<PrivacyLabel> = []
    const inputProvenance: Array<ReadonlyArray<string>> = []
    const privateProvenance: Array<ReadonlyArray<string>> = []
    for (const [name, ref] of Object.entries(n.inputs)) {
      const label = labels.get(`${ref.node}.${ref.output}`) ?? "public"
      const from = provenance.get(`${ref.node}.${ref.output}`) ?? []
      inputProvenance.push(from)
      if (label === "private") privateProvenance.push(from)
      const required = n.stage.inputs[name]?.requires
      if (required !== undefined && !satisfies(label, required)) {
        problems.push(new PlanError({
          reason: "privacy",
          node: n.id,
          path: `${n.id}.${name}`,
          message: `Input "${name}" of node ${n.id} (stage ${n.stage.name}) accepts only ${required} data, but ${ref.node}.${ref.output} is ${label}. ` +
            `Wire ${required === "public" ? "a public artifact" : `a ${required} or public artifact`} into ${n.id}.${name}: stage ${n.stage.name} ` +
            `requires ${required} data there because what it learns from that input is released without privacy accounting (docs/privacy.md, P9).`
        }))
      }
      inputLabels.push(label)
    }
    const isMechanism = n.stage.mechanism !== undefined
    // Private data enters here when the stage declares a dataset, or when it labels an
    // output private without reading any private input (docs/privacy.md, D1).
    const declaresPrivate = Object.values(n.stage.outputs).some((s) => s.label === "private")
    const datasetOrigin: DatasetDeclaration | undefined =
      n.stage.dataset !== undefined
        ? (n.stage.dataset as (c: unknown) => DatasetDeclaration)(config.value)
        : declaresPrivate && !inputLabels.includes("private") && !isMechanism
          ? { name: n.id, identity: { node: n.id, config: config.encoded } }
          : undefined
    const outputProvenance = unionProvenance([...inputProvenance, datasetOrigin !== undefined ? [n.id] : []])
    const outputLabels: Record<string, PrivacyLabel> = {}
    for (const [name, spec] of Object.entries(n.stage.outputs)) {
      let label: PrivacyLabel
      if (isMechanism) label = spec.label ?? "dp"
      else if (inputLabels.length === 0 && spec.label === undefined) {
        problems.push(new PlanError({
          reason: "privacy",
          node: n.id,
          path: `${n.id}.${name}`,
          message: `Output "${name}" of source stage ${n.stage.name} has no privacy label: declare it public or private (Artifact.labelled).`
        }))
        label = "private"
      } else label = joinLabels(propagate(inputLabels), spec.label ?? "public")
      outputLabels[name] = label
      labels.set(`${n.id}.${name}`, label)
      provenance.set(`${n.id}.${name}`, outputProvenance)
    }
    const mechanism = n.stage.mechanism as { predict: (c: unknown) => ReadonlyArray<unknown> } | undefined
    planned.push({
      id: n.id,
      stage: n.stage,
      config: config.value,
      configEncoded: config.encoded,
      perf: perf.value,
      perfEncoded: perf.encoded,
      inputs: n.inputs,
      dependsOn: [...new Set(Object.values(n.inputs).map((r) => r.node))],
      outputLabels,
      isMechanism,
      predictedEvents: mechanism !== undefined ? mechanism.predict(config.value) : [],
      datasetOrigin,
      spendsOn: isMechanism ? unionProvenance(privateProvenance) : [],
      sources: n.stage.sources !== undefined ? (n.stage.sources as (c: unknown) => ReadonlyArray<string>)(config.value) : [],
      notes: n.stage.notes !== undefined ? (n.stage.notes as (c: unknown, p: unknown) => ReadonlyArray<string>)(config.value, perf.value) : [],
      refusal: n.stage.preflight !== undefined ? (n.stage.preflight as (c: unknown, p: unknown) => string | undefined)(config.value, perf.value) : undefined
    })
  }
  if (problems.length > 0) return fail()
  const warnings = paramWarnings({
    matching: graph.matching ?? [],
    configs: new Map(planned.map((n) => [n.id, n.configEncoded] as const)),
    params: graph.params,
    derived,
    overrides: [["--set", userSettings]]
  })
  return { ok: true, value: { pipeline: graph, scale, settings: userSettings, nodes: planned, params: resolvedParams, warnings } }
}

const describe = (s: ArtifactSpec): string => (s.kind === "table" ? `table ${tableSignature(s.table)}` : specTypeName(s))

const topologicalOrder = (nodes: ReadonlyArray<NodeSpec>): Array<NodeSpec> => {
  const indegree = new Map<string, number>()
  const dependents = new Map<string, Array<NodeSpec>>()
  for (const n of nodes) {
    const deps = new Set(Object.values(n.inputs).map((r) => r.node))
    indegree.set(n.id, deps.size)
    for (const d of deps) dependents.set(d, [...(dependents.get(d) ?? []), n])
  }
  const ready = nodes.filter((n) => indegree.get(n.id) === 0)
  const order: Array<NodeSpec> = []
  while (ready.length > 0) {
    const n = ready.shift()!
    order.push(n)
    for (const m of dependents.get(n.id) ?? []) {
      const d = indegree.get(m.id)! - 1
      indegree.set(m.id, d)
      if (d === 0) ready.push(m)
    }
  }
  return order
}
