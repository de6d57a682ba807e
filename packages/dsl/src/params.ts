/**
 * Pipeline parameters (what Kedro calls `params:` and Dagster run config): values that
 * several nodes read, and settings derived from them, declared once per pipeline.
 *
 *   const training = Params.make({
 *     schema: Schema.Struct({ steps: Schema.Int, samplingRate: Schema.Finite }),
 *     defaults: { steps: 150, samplingRate: 0.0015 },
 *     derive: (p) => ({ "dp-train.steps": p.steps, "baseline.steps": p.steps, "dp-train.noiseMultiplier": calibrate(p) })
 *   })
 *   Pipeline.make("p", { params: training, matching: [...], scales: { micro: training.preset({ steps: 20 }) } }, ...)
 *
 * At plan time the parameters are the defaults, then the scale's `params.*` keys, then
 * `--set params.steps=120`; the schema decodes them and `derive` turns them into node
 * settings, which the scale's and the user's own node keys may still override. So
 * `--set params.steps=120` changes every node that reads the steps and whatever is
 * derived from them (the calibrated noise); `--set dp-train.steps=120` changes one node
 * and `plan` warns when that breaks a declared match (`matching`) or overrides a value
 * derived from the parameters.
 */
import { Exit, Schema, SchemaAST, SchemaIssue } from "effect"
import { canonicalJson } from "./canonical-json.ts"
import type { DeepPartial, Settings } from "./pipeline.ts"
import { setPath } from "./settings.ts"
import { didYouMean } from "./suggest.ts"

/** The prefix of parameter keys in scale presets and `--set`. */
export const PARAMS = "params"

/** A pipeline's parameters, type-erased (as the plan sees them). */
export interface PipelineParams {
  readonly schema: Schema.Codec<unknown, unknown>
  /** The parameters' values when neither a scale nor --set gives them (encoded form). */
  readonly defaults: Readonly<Record<string, unknown>>
  /** Node settings ("node.field" keys) derived from the decoded parameters. */
  readonly derive: (params: unknown) => Settings
}

/** Parameters with their type: `preset` writes a scale preset's parameter keys, type-checked. */
export interface TypedParams<P> extends PipelineParams {
  /** `{ "params.steps": 20, ... }` for a scale preset; a key that is not a parameter does not compile. */
  readonly preset: (values: { readonly [K in keyof P]?: DeepPartial<P[K]> }) => Settings
}

/** Declares pipeline parameters: their schema (a Struct), defaults and derived node settings. */
export const make = <P extends object, E extends Readonly<Record<string, unknown>>>(declaration: {
  readonly schema: Schema.Codec<P, E>
  readonly defaults: NoInfer<E>
  readonly derive: (params: P) => Settings
}): TypedParams<P> => ({
  schema: declaration.schema as unknown as Schema.Codec<unknown, unknown>,
  defaults: declaration.defaults,
  derive: declaration.derive as (params: unknown) => Settings,
  // One level only: a parameter given in a preset replaces the default whole (a model shape is not merged field by field).
  preset: (values) => Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined).map(([k, v]) => [`${PARAMS}.${k}`, v]))
})

/**
 * Nodes whose settings must agree for the pipeline to mean what it says (the DP run and
 * its non-private baseline: same model, data and steps). Checked at plan time; a
 * mismatch is a warning, not an error (a deliberate ablation is allowed).
 */
export interface Matching {
  readonly nodes: readonly [string, string, ...Array<string>]
  /** Config fields (dotted paths) that must be equal across the nodes. */
  readonly fields: ReadonlyArray<string>
  /** Why they must match, for the warning. */
  readonly why?: string
}

/** The parameter names of a declaration (the fields of its Struct schema). */
export const paramNames = (params: PipelineParams): ReadonlyArray<string> => {
  const ast = params.schema.ast
  return SchemaAST.isObjects(ast) ? ast.propertySignatures.map((p) => String(p.name)) : Object.keys(params.defaults)
}

export type ParamsResult =
  | { readonly ok: true; readonly values: unknown; readonly encoded: Readonly<Record<string, unknown>>; readonly derived: Settings }
  | { readonly ok: false; readonly problems: ReadonlyArray<{ readonly reason: "unknown-setting" | "invalid-config"; readonly path: string; readonly message: string }> }

const formatter = SchemaIssue.makeFormatterStandardSchemaV1()

/**
 * Resolves the parameters: defaults, then `params.*` keys of each settings layer in
 * order (scale preset, --set); decodes them; derives the node settings.
 */
export const resolveParams = (
  params: PipelineParams,
  layers: ReadonlyArray<readonly [source: string, settings: Settings]>
): ParamsResult => {
  const names = paramNames(params)
  let encoded: Record<string, unknown> = { ...params.defaults }
  const problems: Array<{ reason: "unknown-setting" | "invalid-config"; path: string; message: string }> = []
  for (const [source, settings] of layers) {
    for (const [key, value] of Object.entries(settings)) {
      if (!key.startsWith(`${PARAMS}.`)) continue
      const path = key.split(".").slice(1)
      if (!names.includes(path[0]!)) {
        problems.push({
          reason: "unknown-setting",
          path: key,
          message: `Unknown parameter "${key}" (from ${source}).${didYouMean(key, names.map((n) => `${PARAMS}.${n}`))} Parameters: ${names.map((n) => `${PARAMS}.${n}`).join(", ")}.`
        })
        continue
      }
      encoded = setPath(encoded, path, value)
    }
  }
  if (problems.length > 0) return { ok: false, problems }
  const exit = Schema.decodeUnknownExit(params.schema)(encoded, { onExcessProperty: "error" })
  if (Exit.isFailure(exit)) {
    const failure = exit.cause.reasons.find((r) => r._tag === "Fail")
    const err = failure !== undefined && "error" in failure ? (failure.error as Schema.SchemaError) : undefined
    const issues = err !== undefined ? formatter(err.issue).issues : []
    return {
      ok: false,
      problems: (issues.length > 0 ? issues : [{ path: [], message: String(err?.message ?? "invalid parameters") }]).map((issue) => {
        const path = [PARAMS, ...(issue.path ?? []).map(String)].join(".")
        return { reason: "invalid-config" as const, path, message: `Invalid parameter ${path}: ${issue.message}. Fix it in the scale preset or with --set ${path}=VALUE.` }
      })
    }
  }
  try {
    return { ok: true, values: exit.value, encoded, derived: params.derive(exit.value) }
  } catch (e) {
    return {
      ok: false,
      problems: [{ reason: "invalid-config", path: PARAMS, message: `The pipeline's settings derived from its parameters ${canonicalJson(encoded)} failed: ${e instanceof Error ? e.message : String(e)}` }]
    }
  }
}

const at = (value: unknown, path: ReadonlyArray<string>): unknown =>
  path.reduce<unknown>((v, k) => (typeof v === "object" && v !== null ? (v as Record<string, unknown>)[k] : undefined), value)

const show = (v: unknown): string => {
  try {
    return v === undefined ? "unset" : canonicalJson(v)
  } catch {
    return String(v)
  }
}

/** The parameter a node key most likely comes from (a path segment named like a parameter). */
const paramFor = (key: string, names: ReadonlyArray<string>): string | undefined => {
  const segments = key.split(".").slice(1)
  const i = segments.findIndex((s) => names.includes(s))
  return i < 0 ? undefined : `${PARAMS}.${segments.slice(i).join(".")}`
}

/**
 * Plan-time warnings: a declared match broken (the nodes' decoded configs differ at a
 * field), and a user setting that overrides a value derived from the parameters.
 */
export const paramWarnings = (options: {
  readonly matching: ReadonlyArray<Matching>
  /** Encoded config of each planned node. */
  readonly configs: ReadonlyMap<string, unknown>
  readonly params: PipelineParams | undefined
  readonly derived: Settings
  /** Settings layers above the derived ones (scale preset, --set). */
  readonly overrides: ReadonlyArray<readonly [source: string, settings: Settings]>
}): Array<string> => {
  const warnings: Array<string> = []
  const names = options.params !== undefined ? paramNames(options.params) : []
  for (const [source, settings] of options.overrides) {
    for (const [key, value] of Object.entries(settings)) {
      if (!(key in options.derived) || show(options.derived[key]) === show(value)) continue
      const param = paramFor(key, names)
      warnings.push(
        `${key}=${show(value)} (${source}) overrides the value ${show(options.derived[key])} the pipeline derives from its parameters; ` +
          `the other settings derived from them (other nodes, calibrated noise) do not follow.` +
          (param !== undefined ? ` To change them together, set ${param} instead (--set ${param}=${show(value)}).` : ` Parameters: ${names.map((n) => `${PARAMS}.${n}`).join(", ")}.`)
      )
    }
  }
  for (const m of options.matching) {
    const [first, ...rest] = m.nodes
    for (const field of m.fields) {
      const path = field.split(".")
      const reference = show(at(options.configs.get(first), path))
      for (const other of rest) {
        const value = show(at(options.configs.get(other), path))
        if (value === reference) continue
        const param = paramFor(`${first}.${field}`, names)
        warnings.push(
          `${first}.${field} (${reference}) and ${other}.${field} (${value}) differ, but the pipeline declares them matching` +
            `${m.why !== undefined ? ` (${m.why})` : ""}.` +
            (param !== undefined ? ` Set ${param} to change both.` : ` Set both to the same value.`)
        )
      }
    }
  }
  return warnings
}
