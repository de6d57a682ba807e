/**
 * Stage: a named, versioned unit of work with a config Schema, typed inputs and
 * outputs, and a `run` Effect.
 *
 * Config is split as jax_privacy splits it: `config` is semantic (it changes the
 * result and goes into the stage key), `perf` holds performance flags (micro-batch
 * size, workers, backend), which are recorded but never keyed. A stage that declares
 * `mechanism` is a DP mechanism: its outputs are labelled `dp` and it must record its
 * spend in the PrivacyLedger; `predict` gives the DP events a config will spend, so
 * that `plan` can check the budget before anything runs.
 */
import type { Effect, Stream } from "effect"
import { Schema } from "effect"
import type { ArtifactSpec, FileSpec, JsonSpec, TableSpec, TensorMap, TensorsSpec } from "./artifact.ts"
import { definingModule, modulePath } from "./defining-module.ts"
import type { CheckpointError, LedgerError, StageServices } from "./services.ts"

export type Specs = Readonly<Record<string, ArtifactSpec>>

/** Read access to an input table, streamed in record batches. */
export interface TableInput<R> {
  readonly path: string
  readonly numRows: number
  /** Rows in batches of about `batchSize` (default 8192); never the whole table at once. */
  readonly batches: (options?: { readonly batchSize?: number }) => Stream.Stream<ReadonlyArray<R>, ArtifactReadError>
  /** All rows, in order. Only for tables known to be small. */
  readonly readAll: Effect.Effect<ReadonlyArray<R>, ArtifactReadError>
}

/** Rows a stage emits for a table output: any (async) iterable or a Stream. */
export type TableRows<R> = Iterable<R> | AsyncIterable<R> | Stream.Stream<R, StageFailed>

export type InputValue<S> = S extends TableSpec<string, infer R>
  ? TableInput<R>
  : S extends JsonSpec<string, infer A>
    ? A
    : S extends TensorsSpec
      ? TensorMap
      : S extends FileSpec
        ? Uint8Array
        : never

export type OutputValue<S> = S extends TableSpec<string, infer R>
  ? TableRows<R>
  : S extends JsonSpec<string, infer A>
    ? A
    : S extends TensorsSpec
      ? TensorMap
      : S extends FileSpec
        ? Uint8Array | string
        : never

export type InputValues<I extends Specs> = { readonly [K in keyof I]: InputValue<I[K]> }
export type OutputValues<O extends Specs> = { readonly [K in keyof O]: OutputValue<O[K]> }

export class ArtifactReadError extends Schema.TaggedError<ArtifactReadError>()("ArtifactReadError", {
  path: Schema.String,
  message: Schema.String
}) {}

/** The error a stage fails with; `message` should tell the user what to fix. */
export class StageFailed extends Schema.TaggedError<StageFailed>()("StageFailed", {
  message: Schema.String
}) {}

/** The errors a stage's `run` may fail with. */
export type StageError = StageFailed | ArtifactReadError | CheckpointError | LedgerError

/** What a stage's `run` receives. */
export interface StageContext<C, P, I extends Specs> {
  readonly config: C
  readonly perf: P
  readonly inputs: InputValues<I>
  /** The pipeline node this execution belongs to. */
  readonly node: string
  /** The content-addressed key of this execution. */
  readonly stageKey: string
  /**
   * A 32-byte secret for keyed randomness (docs/privacy.md, P7), derived from the store's
   * secret and this stage key: stable across resume, never logged.
   */
  readonly secretKey: (domain: string) => Uint8Array
}

/**
 * A private dataset a source stage reads (docs/privacy.md, D1). `name` is the user's
 * name for it; `identity` is what makes it this dataset and not another (the corpus and
 * its parameters, not subsetting options such as a document limit: a subset spends on
 * the whole). The runtime hashes identity with the contents of the stage's `sources`
 * into the dataset's source hash, under which the store's privacy ledger composes
 * every run's spend on it.
 */
export interface DatasetDeclaration {
  readonly name: string
  readonly identity: unknown
}

export interface MechanismDeclaration<C> {
  /** The DP events (accountant encoding) a run with this config will spend. */
  readonly predict: (config: C) => ReadonlyArray<unknown>
}

export interface Stage<C = unknown, P = unknown, I extends Specs = Specs, O extends Specs = Specs> {
  readonly name: string
  readonly version: string
  readonly description: string
  readonly config: Schema.Codec<C, unknown>
  readonly perf: Schema.Codec<P, unknown>
  readonly inputs: I
  readonly outputs: O
  readonly mechanism: MechanismDeclaration<C> | undefined
  /** The private dataset this source stage's private outputs come from. */
  readonly dataset: ((config: C) => DatasetDeclaration) | undefined
  /** Files or folders outside the store that the stage reads; their contents are part of its key. */
  readonly sources: ((config: C) => ReadonlyArray<string>) | undefined
  /** Lines `plan` prints for this node (a compute estimate, the assumed dataset size, ...). */
  readonly notes: ((config: C, perf: P) => ReadonlyArray<string>) | undefined
  /** Why this config cannot run here (checked before a run starts), or undefined. */
  readonly preflight: ((config: C, perf: P) => string | undefined) | undefined
  /**
   * The absolute path of the module that defines the stage (or undefined when it cannot
   * be told). The runtime fingerprints it and the project modules it imports into the
   * stage key (docs/architecture.md, "Stage keys and what is not keyed").
   */
  readonly module: string | undefined
  readonly run: (ctx: StageContext<C, P, I>) => Effect.Effect<OutputValues<O>, StageError, StageServices>
}

/** A stage of any config, perf and ports (for collections of stages). */
export interface AnyStage {
  readonly name: string
  readonly version: string
  readonly description: string
  readonly config: Schema.Codec<unknown, unknown>
  readonly perf: Schema.Codec<unknown, unknown>
  readonly inputs: Specs
  readonly outputs: Specs
  readonly mechanism: MechanismDeclaration<never> | undefined
  readonly dataset: ((config: never) => DatasetDeclaration) | undefined
  readonly sources: ((config: never) => ReadonlyArray<string>) | undefined
  readonly notes: ((config: never, perf: never) => ReadonlyArray<string>) | undefined
  readonly preflight: ((config: never, perf: never) => string | undefined) | undefined
  readonly module: string | undefined
  readonly run: (ctx: never) => Effect.Effect<unknown, StageError, StageServices>
}

const NoPerf = Schema.Struct({})

/** Declares a stage. */
export const make = <C, P = {}, const I extends Specs = {}, const O extends Specs = {}>(def: {
  readonly name: string
  readonly version: string
  readonly description?: string
  readonly config: Schema.Codec<C, unknown>
  readonly perf?: Schema.Codec<P, unknown>
  readonly inputs?: I
  readonly outputs: O
  readonly mechanism?: MechanismDeclaration<C>
  /**
   * For a source stage with private outputs: the private dataset they come from (its
   * name and identity). Labels carry it through the DAG to the mechanisms that spend
   * on it. A private source that declares none is its own dataset, named by its node.
   */
  readonly dataset?: (config: C) => DatasetDeclaration
  /**
   * Files or folders outside the store that the stage reads (a user's corpus). The
   * runtime hashes their contents into the stage key, so editing them invalidates the
   * cache as editing the config does.
   */
  readonly sources?: (config: C) => ReadonlyArray<string>
  /** Lines `plan` prints for this node: a compute estimate, assumptions. */
  readonly notes?: (config: C, perf: P) => ReadonlyArray<string>
  /**
   * Returns why this config cannot run on this machine (e.g. a 1B model without a GPU
   * backend), or undefined. Checked before a run starts, so nothing is half-done.
   */
  readonly preflight?: (config: C, perf: P) => string | undefined
  /**
   * The module whose code computes this stage, as `import.meta.url` or an absolute path.
   * Default: the file that calls `Stage.make` (read from the call stack). Pass it when a
   * helper in one module builds stages whose `run` lives in another.
   */
  readonly module?: string
  readonly run: (ctx: StageContext<C, P, I>) => Effect.Effect<OutputValues<O>, StageError, StageServices>
}): Stage<C, P, I, O> => {
  if (!/^[a-z][a-z0-9-]*$/.test(def.name)) {
    throw new Error(`Stage name "${def.name}" must be lower-case letters, digits and dashes`)
  }
  return {
    name: def.name,
    version: def.version,
    description: def.description ?? "",
    config: def.config,
    perf: (def.perf ?? NoPerf) as Schema.Codec<P, unknown>,
    inputs: (def.inputs ?? {}) as I,
    outputs: def.outputs,
    mechanism: def.mechanism,
    dataset: def.dataset,
    sources: def.sources,
    notes: def.notes,
    preflight: def.preflight,
    module: def.module !== undefined ? modulePath(def.module) : definingModule(),
    run: def.run
  }
}

/** Erases a stage's types for storage in a pipeline graph. */
export const erase = <C, P, I extends Specs, O extends Specs>(stage: Stage<C, P, I, O>): AnyStage =>
  stage as unknown as AnyStage
