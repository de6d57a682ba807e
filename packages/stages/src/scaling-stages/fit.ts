/**
 * Stage `fit`: collects the observations of every sweep point and fits the scaling law of
 * McKenna et al. 2025 ("Scaling Laws for Differentially Private Language Models", §3.3)
 * with @dpipe/scaling: the semi-parametric law (smoothing, isotonic in T and sigma-bar,
 * minimum over learning rate, extrapolation in T by E + A T^-alpha, interpolation over
 * log M, log T, log sigma-bar) and the parametric form of the paper's App. E.
 *
 * Outputs: `law` (the ScalingLaw JSON artifact; the parametric fit is kept in it without
 * its per-observation residuals, so the file stays small), `residuals` (both fits'
 * residuals: the semi-parametric law's in-sample residual of every (model, sigma-bar,
 * step) cell against the best learning rate's observed loss, and the parametric fit's
 * residual of every observation), and `observations` (every point's rows in one table,
 * for the report). All public: the sweep trains on public data.
 *
 * The stage is built for the pipeline's list of sweep points (`fitStage(ids)`): one input
 * per point, named by its node id. Points a scale does not run have no rows.
 */
import { Effect, Schema } from "effect"
import { Artifact, Progress, Stage, StageFailed } from "@dpipe/dsl"
import { type ModelSpec, ScalingLaw, type SweepObservation, fitParametricLaw, fitScalingLaw, predictLoss } from "@dpipe/scaling"
import { SweepObservations, type SweepObservationRow } from "./tables.ts"

export const FitConfig = Schema.Struct({
  /** S in C = 6 M B S T: tokens per sequence (the context length). */
  sequenceLength: Schema.Int.check(Schema.isGreaterThan(0)),
  /** Observations before this step are dropped (learning-rate warm-up). */
  minStep: Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0)).pipe(Schema.withDecodingDefaultKey(Effect.succeed(0))),
  /**
   * Rolling-mean window along T, in logged points (the paper: 10 points of training loss).
   * Held-out loss on a fixed eval set has no batch-sampling noise, so a short one suffices.
   */
  smoothingWindow: Schema.Int.check(Schema.isGreaterThan(0)).pipe(Schema.withDecodingDefaultKey(Effect.succeed(3))),
  /**
   * Doublings of the last observed step appended by extrapolation (E + A T^-alpha), four
   * grid points each. The paper extrapolates six from 128K-step runs; a short sweep's
   * curves are still steep at their end, so a tiny sweep keeps to two.
   */
  extrapolateDoublings: Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 8 })).pipe(Schema.withDecodingDefaultKey(Effect.succeed(6))),
  /** The model shapes by name (kept in the law so a planner can build the model it picks). */
  models: Schema.Record(Schema.String, Schema.Record(Schema.String, Schema.Finite)),
  /** What the law was fitted on, recorded in its provenance. */
  source: Schema.String.pipe(Schema.withDecodingDefaultKey(Effect.succeed("dp-scaling")))
})
export type FitConfig = typeof FitConfig.Type

const Residual = Schema.Struct({
  model: Schema.String,
  params: Schema.Number,
  noiseBatchRatio: Schema.Number,
  step: Schema.Number,
  /** The lowest observed loss over learning rates at this cell. */
  loss: Schema.Number,
  learningRate: Schema.Number,
  predicted: Schema.Number,
  relError: Schema.Number
})

const Summary = Schema.Struct({ rmsRelError: Schema.Number, maxAbsRelError: Schema.Number, count: Schema.Int })

export const FitResiduals = Schema.Struct({
  semiParametric: Schema.Struct({ ...Summary.fields, residuals: Schema.Array(Residual) }),
  parametric: Schema.Struct({ ...Summary.fields, residuals: Schema.Array(Schema.Unknown) })
})
export type FitResiduals = typeof FitResiduals.Type

const summary = (rel: ReadonlyArray<number>) => {
  const f = rel.filter((x) => Number.isFinite(x))
  return {
    rmsRelError: f.length === 0 ? Number.NaN : Math.sqrt(f.reduce((a, x) => a + x * x, 0) / f.length),
    maxAbsRelError: f.reduce((a, x) => Math.max(a, Math.abs(x)), 0),
    count: f.length
  }
}

const toObservation = (r: SweepObservationRow): SweepObservation => ({
  model: r.model,
  params: r.params,
  learningRate: r.learning_rate,
  noiseBatchRatio: r.noise_batch_ratio,
  step: r.step,
  loss: r.loss
})

/** The semi-parametric law's residual at every (model, sigma-bar, step) cell, against the best learning rate there. */
export const lawResiduals = (law: ScalingLaw, rows: ReadonlyArray<SweepObservationRow>, minStep: number) => {
  const best = new Map<string, SweepObservationRow>()
  for (const r of rows) {
    if (r.step < minStep || !Number.isFinite(r.loss)) continue
    const k = `${r.model}|${r.noise_batch_ratio}|${r.step}`
    const b = best.get(k)
    if (b === undefined || r.loss < b.loss) best.set(k, r)
  }
  return [...best.values()].map((r) => {
    const predicted = predictLoss(law, { params: r.params, steps: r.step, noiseBatchRatio: r.noise_batch_ratio })
    return { model: r.model, params: r.params, noiseBatchRatio: r.noise_batch_ratio, step: r.step, loss: r.loss, learningRate: r.learning_rate, predicted, relError: predicted / r.loss - 1 }
  })
}

/** The fit stage for the given sweep point node ids (one observations input each). */
export const fitStage = (pointIds: ReadonlyArray<string>) => {
  const inputs: Record<string, ReturnType<typeof Artifact.table<"sweep-observations", SweepObservationRow>>> = {}
  for (const id of pointIds) inputs[id] = Artifact.table(SweepObservations)
  return Stage.make({
    name: "scaling-fit",
    version: "1",
    description: "Fits the DP scaling law (semi-parametric and parametric) to every sweep point's observations.",
    config: FitConfig,
    inputs,
    outputs: {
      law: Artifact.json("scaling-law", ScalingLaw, { description: "the fitted law (dpipe.scaling-law format)" }),
      residuals: Artifact.json("scaling-residuals", FitResiduals, { description: "in-sample residuals of both fits" }),
      observations: Artifact.table(SweepObservations, { description: "every sweep point's observations" })
    },
    run: ({ config, inputs: tables }) =>
      Effect.gen(function* () {
        const progress = yield* Progress
        const rows: Array<SweepObservationRow> = []
        for (const id of pointIds) {
          const t = tables[id]
          if (t === undefined) continue
          const read = yield* t.readAll.pipe(Effect.mapError((e) => new StageFailed({ message: `fit: reading the observations of ${id}: ${e.message}` })))
          rows.push(...read)
        }
        const usable = rows.filter((r) => Number.isFinite(r.loss) && r.loss > 0)
        if (usable.length === 0) return yield* new StageFailed({ message: "fit: no sweep point produced observations; enable points with <node>.enabled=true or run a scale that has them" })
        const batches = [...new Set(usable.map((r) => r.batch_size))]
        if (batches.length !== 1) return yield* new StageFailed({ message: `fit: the sweep points use different physical batches (${batches.join(", ")}); the law assumes one b: set the same batchSize on every point` })
        const physicalBatch = batches[0] as number
        const paramsOf = new Map(usable.map((r) => [r.model, r.params] as const))
        const models: Array<ModelSpec> = [...paramsOf.entries()].sort((a, b) => a[1] - b[1]).map(([name, params]) => {
          const shape = config.models[name]
          return { name, params, config: shape ?? {} }
        })
        const observations = usable.map(toObservation)
        const lastStep = Math.max(...usable.map((r) => r.step))
        const extrapolateSteps = Array.from({ length: 4 * config.extrapolateDoublings }, (_, k) => Math.round(lastStep * 2 ** ((k + 1) / 4)))
        const fitted = yield* Effect.try({
          try: () => {
            const law = fitScalingLaw(observations, { sequenceLength: config.sequenceLength, physicalBatch, models, minStep: config.minStep, smoothingWindow: config.smoothingWindow, extrapolateSteps, parametric: false, provenance: { source: config.source } })
            const parametric = fitParametricLaw(observations.filter((o) => o.step >= config.minStep), { sequenceLength: config.sequenceLength, physicalBatch })
            return { law, parametric }
          },
          catch: (e) => new StageFailed({ message: `fit: ${e instanceof Error ? e.message : String(e)}` })
        })
        const law: ScalingLaw = { ...fitted.law, parametric: { ...fitted.parametric, residuals: [] } }
        const semi = lawResiduals(law, usable, config.minStep)
        const semiSummary = summary(semi.map((r) => r.relError))
        yield* progress.info(
          `fit: ${usable.length} observations of ${new Set(usable.map((r) => `${r.model}|${r.noise_batch_ratio}|${r.learning_rate}`)).size} runs; ` +
            `semi-parametric in-sample rms ${(semiSummary.rmsRelError * 100).toFixed(2)}% (max ${(semiSummary.maxAbsRelError * 100).toFixed(2)}%), ` +
            `parametric rms ${(fitted.parametric.rmsRelError * 100).toFixed(2)}% (max ${(fitted.parametric.maxAbsRelError * 100).toFixed(2)}%)`
        )
        return {
          law,
          residuals: {
            semiParametric: { ...semiSummary, residuals: semi },
            parametric: { rmsRelError: fitted.parametric.rmsRelError, maxAbsRelError: fitted.parametric.maxAbsRelError, count: fitted.parametric.residuals.length, residuals: fitted.parametric.residuals }
          },
          observations: [...rows].sort((a, b) => a.model.localeCompare(b.model) || a.noise_batch_ratio - b.noise_batch_ratio || a.learning_rate - b.learning_rate || a.step - b.step)
        }
      })
  })
}
