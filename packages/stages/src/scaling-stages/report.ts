/**
 * Stage `scaling-report`: report.html of a dp-scaling run (render.ts: loss vs steps per
 * noise-batch ratio, iso-loss curves of the fitted law, the planner's optimum against
 * compute at a stated epsilon, delta and N, the fits' residuals) and a summary JSON the
 * CLI prints. Public: every input comes from the public sweep.
 */
import { Effect, Schema } from "effect"
import { Artifact, Stage, StageFailed } from "@dpipe/dsl"
import { ScalingLaw } from "@dpipe/scaling"
import { FitResiduals } from "./fit.ts"
import { renderScalingReport } from "./render.ts"
import { SweepObservations } from "./tables.ts"

const Positive = Schema.Finite.check(Schema.isGreaterThan(0))

export const ScalingReportConfig = Schema.Struct({
  title: Schema.String.pipe(Schema.withDecodingDefaultKey(Effect.succeed("dp-scaling: DP scaling-law sweep"))),
  /** The planner's privacy budget and dataset size for the compute sweep. */
  epsilon: Positive.pipe(Schema.withDecodingDefaultKey(Effect.succeed(8))),
  delta: Positive.pipe(Schema.withDecodingDefaultKey(Effect.succeed(1e-6))),
  datasetSize: Schema.Int.check(Schema.isGreaterThan(0)),
  log10ComputeMin: Schema.Finite,
  log10ComputeMax: Schema.Finite,
  points: Schema.Int.check(Schema.isGreaterThan(1)).pipe(Schema.withDecodingDefaultKey(Effect.succeed(5))),
  /**
   * "rdp" (default): the planner's grid accountant, without the PLD refinement of the
   * near-optimal set, which costs minutes per compute point on a loaded machine; "pld" as
   * `pnpm pipeline advise` does.
   */
  accountant: Schema.Literals(["rdp", "pld"]).pipe(Schema.withDecodingDefaultKey(Effect.succeed("rdp" as const))),
  batchGridSize: Schema.Int.check(Schema.isGreaterThan(1)).pipe(Schema.withDecodingDefaultKey(Effect.succeed(24)))
})

export const ScalingReportSummary = Schema.Struct({
  models: Schema.Array(Schema.String),
  runs: Schema.Int,
  observations: Schema.Int,
  semiParametricRmsRelError: Schema.Number,
  parametricRmsRelError: Schema.Number,
  planner: Schema.Array(Schema.Struct({
    computeFlops: Schema.Number,
    model: Schema.NullOr(Schema.String),
    expectedBatchSize: Schema.NullOr(Schema.Number),
    steps: Schema.NullOr(Schema.Number),
    noiseMultiplier: Schema.NullOr(Schema.Number),
    predictedLoss: Schema.NullOr(Schema.Number)
  }))
})

export const scalingReport = Stage.make({
  name: "scaling-report",
  version: "1",
  description: "report.html of the scaling sweep: loss curves, iso-loss curves of the law, the planner's optimum vs compute, residuals.",
  config: ScalingReportConfig,
  inputs: {
    law: Artifact.json("scaling-law", ScalingLaw),
    residuals: Artifact.json("scaling-residuals", FitResiduals),
    observations: Artifact.table(SweepObservations)
  },
  outputs: {
    report: Artifact.file("report", "html", { description: "self-contained HTML report of the sweep and the law" }),
    summary: Artifact.json("scaling-report-summary", ScalingReportSummary)
  },
  run: ({ config, inputs }) =>
    Effect.gen(function* () {
      const observations = yield* inputs.observations.readAll.pipe(Effect.mapError((e) => new StageFailed({ message: `scaling-report: reading the observations (${e.path}): ${e.message}` })))
      const out = yield* Effect.try({
        try: () =>
          renderScalingReport({
            title: config.title,
            law: inputs.law,
            observations,
            residuals: inputs.residuals,
            planner: { epsilon: config.epsilon, delta: config.delta, datasetSize: config.datasetSize, log10ComputeMin: config.log10ComputeMin, log10ComputeMax: config.log10ComputeMax, points: config.points, accountant: config.accountant, batchGridSize: config.batchGridSize }
          }),
        catch: (e) => new StageFailed({ message: `scaling-report: rendering failed (${String(e)}); this is a bug in scaling-stages/render.ts` })
      })
      return { report: out.html, summary: out.summary }
    })
})
