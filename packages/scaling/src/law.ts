/**
 * The fitted scaling law as a JSON artifact (`ScalingLaw` schema) and its file helpers.
 *
 * The law is log-loss on a grid over (log M, log T, log sigma-bar) for sigma-bar > 0, read by
 * multilinear interpolation (predict.ts), plus a separate (log M, log T) slice for the
 * non-private runs (sigma-bar = 0 has no logarithm, so it cannot be a grid coordinate).
 * Grid values are stored row-major (model, step, noise), last axis fastest; a cell with no
 * value is null (JSON has no NaN).
 */
import { Effect, FileSystem, Result, Schema, SchemaIssue } from "effect"
import { ScalingLawFileError } from "./errors.ts"
import { ModelSpec } from "./observations.ts"
import { ParametricFit } from "./parametric.ts"

export const SCALING_LAW_FORMAT = "dpipe.scaling-law/1"

const PositiveInt = Schema.Int.check(Schema.isGreaterThan(0))
const Cell = Schema.NullOr(Schema.Finite)

/** The options the fit ran with (defaults filled in). */
export const StoredFitOptions = Schema.Struct({
  minStep: Schema.Finite,
  smoothingWindow: Schema.Finite,
  tailFraction: Schema.Finite,
  extrapolateSteps: Schema.Array(Schema.Finite),
  maxGridSteps: Schema.Finite
})
export type StoredFitOptions = typeof StoredFitOptions.Type

export const ScalingLaw = Schema.Struct({
  format: Schema.Literal(SCALING_LAW_FORMAT),
  /** S in C = 6 M B S T (tokens per sequence). */
  sequenceLength: PositiveInt,
  /** The sweep's physical batch (sequences per step); the non-private optimum trains at it. */
  physicalBatch: PositiveInt,
  /** The models, ascending in params: axis 0 of the grid. */
  models: Schema.Array(ModelSpec),
  grid: Schema.Struct({
    logParams: Schema.Array(Schema.Finite),
    logSteps: Schema.Array(Schema.Finite),
    logNoiseBatchRatio: Schema.Array(Schema.Finite),
    /** log loss, [model][step][noise] row-major. */
    logLoss: Schema.Array(Cell)
  }),
  /** log loss at sigma-bar = 0, [model][step] row-major over the same axes; absent without non-private runs. */
  nonPrivate: Schema.optionalKey(Schema.Struct({ logLoss: Schema.Array(Cell) })),
  /** The steps actually observed (after minStep); steps beyond are extrapolated. */
  observedSteps: Schema.Struct({ min: Schema.Finite, max: Schema.Finite }),
  /** Per model, the convergence loss E of E + A T^-alpha and the curve it was fitted on. */
  convergence: Schema.Array(
    Schema.Struct({ model: Schema.String, loss: Schema.Finite, fittedOn: Schema.Literals(["non-private", "lowest-noise"]) })
  ),
  fitOptions: StoredFitOptions,
  parametric: Schema.optionalKey(ParametricFit),
  provenance: Schema.Struct({
    observations: Schema.Int,
    learningRates: Schema.Array(Schema.Finite),
    source: Schema.optionalKey(Schema.String),
    runId: Schema.optionalKey(Schema.String),
    createdAt: Schema.optionalKey(Schema.String)
  })
})
export type ScalingLaw = typeof ScalingLaw.Type

const formatter = SchemaIssue.makeFormatterStandardSchemaV1()

/** The first schema problem on one line: "what at path". */
const firstIssue = (issue: SchemaIssue.Issue): string => {
  const first = formatter(issue).issues[0]
  if (first === undefined) return "invalid"
  const path = (first.path ?? []).map((p) => String(typeof p === "object" && p !== null && "key" in p ? p.key : p)).join(".")
  return `${first.message.replace(/\s+/g, " ")}${path !== "" ? ` at ${path}` : ""}`
}

/** Shape checks the schema cannot express: axis lengths, sorting, models matching axis 0. */
const consistency = (law: ScalingLaw): string | undefined => {
  const { logParams, logSteps, logNoiseBatchRatio, logLoss } = law.grid
  if (law.models.length !== logParams.length) return `${law.models.length} models but ${logParams.length} logParams`
  for (let i = 0; i < law.models.length; i++)
    if (Math.abs(Math.log(law.models[i]!.params) - logParams[i]!) > 1e-9) return `model ${law.models[i]!.name}: params ${law.models[i]!.params} do not match logParams[${i}]`
  for (const [name, axis] of [["logParams", logParams], ["logSteps", logSteps], ["logNoiseBatchRatio", logNoiseBatchRatio]] as const) {
    if (axis.length === 0) return `grid axis ${name} is empty`
    for (let i = 1; i < axis.length; i++) if (!(axis[i]! > axis[i - 1]!)) return `grid axis ${name} is not strictly increasing at index ${i}`
  }
  const want = logParams.length * logSteps.length * logNoiseBatchRatio.length
  if (logLoss.length !== want) return `grid.logLoss has ${logLoss.length} values, expected ${logParams.length} x ${logSteps.length} x ${logNoiseBatchRatio.length} = ${want}`
  if (law.nonPrivate !== undefined && law.nonPrivate.logLoss.length !== logParams.length * logSteps.length)
    return `nonPrivate.logLoss has ${law.nonPrivate.logLoss.length} values, expected ${logParams.length * logSteps.length}`
  return undefined
}

/** Decodes a parsed JSON value into a law; the error names the first problem. */
export const decodeLaw = (json: unknown, path = "<law>"): Result.Result<ScalingLaw, ScalingLawFileError> => {
  const r = Schema.decodeUnknownResult(ScalingLaw)(json)
  if (Result.isFailure(r)) {
    const format = typeof json === "object" && json !== null && "format" in json ? (json as { format: unknown }).format : undefined
    const hint = format !== SCALING_LAW_FORMAT ? ` (format is ${JSON.stringify(format)}, this version reads "${SCALING_LAW_FORMAT}": refit with the dp-scaling pipeline)` : ""
    return Result.fail(new ScalingLawFileError({ path, message: `${path} is not a scaling law${hint}: ${firstIssue(r.failure.issue)}` }))
  }
  const bad = consistency(r.success)
  if (bad !== undefined) return Result.fail(new ScalingLawFileError({ path, message: `${path} is not a consistent scaling law: ${bad}` }))
  return Result.succeed(r.success)
}

/** Parses and decodes a law file's text. */
export const parseLaw = (text: string, path = "<law>"): Result.Result<ScalingLaw, ScalingLawFileError> => {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (e) {
    return Result.fail(new ScalingLawFileError({ path, message: `${path} is not JSON (${e instanceof Error ? e.message : String(e)}); pass a law file written by the dp-scaling pipeline's fit stage` }))
  }
  return decodeLaw(json, path)
}

/** The law's JSON text (validated by the schema on the way out). */
export const encodeLaw = (law: ScalingLaw): string => `${JSON.stringify(Schema.encodeSync(ScalingLaw)(law), null, 1)}\n`

/** Reads a law file. */
export const readLaw = Effect.fn("readLaw")(function* (path: string) {
  const fs = yield* FileSystem.FileSystem
  const text = yield* fs
    .readFileString(path)
    .pipe(Effect.mapError((e) => new ScalingLawFileError({ path, message: `cannot read ${path}: ${e.message}; pass a law file path or the id of a dp-scaling run` })))
  return yield* Effect.fromResult(parseLaw(text, path))
})

/** Writes a law file (through a temporary file renamed into place: never half-written). */
export const writeLaw = Effect.fn("writeLaw")(function* (path: string, law: ScalingLaw) {
  const fs = yield* FileSystem.FileSystem
  const tmp = `${path}.tmp-${process.pid}`
  const fail = (e: { readonly message: string }) => new ScalingLawFileError({ path, message: `cannot write ${path}: ${e.message}` })
  yield* fs.writeFileString(tmp, encodeLaw(law)).pipe(Effect.mapError(fail))
  yield* fs.rename(tmp, path).pipe(Effect.mapError(fail))
})
