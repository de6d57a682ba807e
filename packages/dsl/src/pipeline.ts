/**
 * Pipeline: a DAG of stage instances wired output -> input, with scale presets,
 * a privacy budget and the accountants that check it.
 *
 * Pipelines are built with a typed builder (`Pipeline.make(name, options, (b) => ...)`):
 * `b.add(id, stage, { inputs: { docs: corpus.out.documents } })` only type-checks when
 * each input gets an output of the same artifact type. The builder produces a plain
 * graph (`PipelineGraph`) that `plan` validates again at run time (cycles, unwired
 * inputs, type and privacy mismatches), since graphs can also be assembled by code.
 */
import type { Effect } from "effect"
import { Schema } from "effect"
import type { ArtifactSpec } from "./artifact.ts"
import type { Matching, PipelineParams } from "./params.ts"
import type { AnyStage, Specs, Stage } from "./stage.ts"
import { erase } from "./stage.ts"

/** A reference to one output of one node. */
export interface OutputRef<S extends ArtifactSpec = ArtifactSpec> {
  readonly node: string
  readonly output: string
  readonly spec: S
}

/** Setting values by dotted path, `node.field.subfield`. */
export type Settings = Readonly<Record<string, unknown>>

export interface NodeSpec {
  readonly id: string
  readonly stage: AnyStage
  /** Base semantic config and perf flags (partial; completed by scale, --set and defaults). */
  readonly config: Readonly<Record<string, unknown>>
  readonly perf: Readonly<Record<string, unknown>>
  readonly inputs: Readonly<Record<string, { readonly node: string; readonly output: string }>>
}

export class AccountingFailed extends Schema.TaggedError<AccountingFailed>()("AccountingFailed", {
  message: Schema.String
}) {}

/** Turns DP events (in the accountant's JSON encoding) into an epsilon at `delta`. */
export interface Accountant {
  readonly name: string
  readonly epsilon: (events: ReadonlyArray<unknown>, delta: number) => Effect.Effect<number, AccountingFailed>
}

export interface Budget {
  readonly epsilon: number
  readonly delta: number
}

export interface PrivacyPolicy {
  readonly budget: Budget
  /** Budgets of particular scales (e.g. VaultGemma's epsilon 2 at delta 1.1e-10 for `1b`). */
  readonly scaleBudgets?: Readonly<Record<string, Budget>>
  /** The first accountant is authoritative for budget checks; the others are reported. */
  readonly accountants: readonly [Accountant, ...Array<Accountant>]
}

export interface PipelineGraph {
  readonly name: string
  readonly description: string
  readonly nodes: ReadonlyArray<NodeSpec>
  readonly scales: Readonly<Record<string, Settings>>
  readonly defaultScale: string
  readonly privacy: PrivacyPolicy | undefined
  /**
   * True when the pipeline declared `privacy: "none"`: its DP mechanisms run without a
   * budget check, and `plan` and `run` say so. Without a policy and without this opt-out,
   * a pipeline with a DP mechanism is refused (docs/privacy.md, B1).
   */
  readonly noBudget?: boolean
  /** The most stages the executor runs at once (independent branches). */
  readonly concurrency: number
  /** Outputs copied into the run directory under these file names when a run succeeds (e.g. report.html). */
  readonly publish: Readonly<Record<string, { readonly node: string; readonly output: string }>>
  /** A JSON output whose values `run` prints at the end. */
  readonly summary: { readonly node: string; readonly output: string } | undefined
  /** Parameters several nodes read (`params.*` keys; params.ts). */
  readonly params?: PipelineParams | undefined
  /** Nodes whose settings must agree; `plan` warns when they do not (params.ts). */
  readonly matching?: ReadonlyArray<Matching> | undefined
}

/** What a pipeline's build function may return: files to publish and the summary to print. */
export interface PipelineOutputs {
  readonly publish?: Readonly<Record<string, OutputRef>>
  readonly summary?: OutputRef
}

/** T with every field optional, recursively (arrays and typed arrays are set whole). */
export type DeepPartial<T> = T extends ReadonlyArray<unknown> | Uint8Array | Int32Array | Float32Array
  ? T
  : T extends object
    ? { readonly [K in keyof T]?: DeepPartial<T[K]> }
    : T

export interface NodeHandle<O extends Specs> {
  readonly id: string
  readonly out: { readonly [K in keyof O]: OutputRef<O[K]> }
}

export interface Builder {
  add<C, P, I extends Specs, O extends Specs>(
    id: string,
    stage: Stage<C, P, I, O>,
    options: {
      readonly config?: NoInfer<DeepPartial<C>>
      readonly perf?: NoInfer<DeepPartial<P>>
    } & ({} extends I ? { readonly inputs?: NoInfer<{ readonly [K in keyof I]: OutputRef<I[K]> }> } : { readonly inputs: NoInfer<{ readonly [K in keyof I]: OutputRef<I[K]> }> })
  ): NodeHandle<O>
}

/** The budget in force at a scale. */
export const budgetAt = (policy: PrivacyPolicy, scale: string): Budget => policy.scaleBudgets?.[scale] ?? policy.budget

/** Builds a pipeline with the typed builder. */
export const make = (
  name: string,
  options: {
    readonly description?: string
    readonly scales?: Readonly<Record<string, Settings>>
    readonly defaultScale?: string
    /** The budget and accountants; `"none"` runs DP mechanisms without a budget (explicit opt-out). */
    readonly privacy?: PrivacyPolicy | "none"
    readonly concurrency?: number
    /** Parameters several nodes read, set with `params.*` keys in scales and --set (Params.make). */
    readonly params?: PipelineParams
    /** Nodes whose settings must agree (e.g. a DP run and its baseline); plan warns otherwise. */
    readonly matching?: ReadonlyArray<Matching>
  },
  build: (b: Builder) => void | PipelineOutputs
): PipelineGraph => {
  const nodes: Array<NodeSpec> = []
  const builder: Builder = {
    add: (id, stage, opts) => {
      if (!/^[a-z][a-z0-9-]*$/.test(id)) throw new Error(`Node id "${id}" must be lower-case letters, digits and dashes`)
      if (id === "params") throw new Error(`Node id "params" is reserved for the pipeline's parameters (--set params.NAME=VALUE)`)
      if (nodes.some((n) => n.id === id)) throw new Error(`Node id "${id}" is used twice in pipeline ${name}`)
      const inputs: Record<string, { node: string; output: string }> = {}
      for (const [k, ref] of Object.entries((opts.inputs ?? {}) as Record<string, OutputRef>)) {
        inputs[k] = { node: ref.node, output: ref.output }
      }
      nodes.push({
        id,
        stage: erase(stage),
        config: (opts.config ?? {}) as Record<string, unknown>,
        perf: (opts.perf ?? {}) as Record<string, unknown>,
        inputs
      })
      const out: Record<string, OutputRef> = {}
      for (const [k, spec] of Object.entries(stage.outputs)) out[k] = { node: id, output: k, spec }
      return { id, out } as NodeHandle<typeof stage.outputs>
    }
  }
  const outputs = build(builder) ?? {}
  const scales = options.scales ?? {}
  const ref = (r: OutputRef) => ({ node: r.node, output: r.output })
  return {
    name,
    description: options.description ?? "",
    nodes,
    scales,
    defaultScale: options.defaultScale ?? Object.keys(scales)[0] ?? "default",
    privacy: options.privacy === "none" ? undefined : options.privacy,
    ...(options.privacy === "none" ? { noBudget: true } : {}),
    concurrency: options.concurrency ?? 2,
    publish: Object.fromEntries(Object.entries(outputs.publish ?? {}).map(([k, r]) => [k, ref(r)])),
    summary: outputs.summary !== undefined ? ref(outputs.summary) : undefined,
    params: options.params,
    matching: options.matching
  }
}
