/**
 * The `report` stage: a self-contained report.html (inline SVG charts,
 * tables, privacy labels; see ./render.ts) and a short summary JSON the CLI can print.
 *
 * Inputs: the privacy statement, the metrics tables of the DP and the non-private runs,
 * and the evaluate and memorization stages' JSON outputs (their own schemas, so they
 * wire in directly). Both outputs are private (the metrics,
 * evaluation and memorization inputs are), which the label flow gives automatically.
 */
import { Effect, Schema } from "effect"
import { Artifact, Stage, StageFailed } from "@dpipe/dsl"
import { TrainMetrics } from "@dpipe/stages/training-stages/tables"
import { renderReport } from "./render.ts"
import { Evaluation, Memorization } from "@dpipe/stages/eval-stages/tables"
import { PrivacyStatement, ReportSummary } from "./schemas.ts"

export const ReportConfig = Schema.Struct({
  /** The report's heading. */
  title: Schema.String.pipe(Schema.withDecodingDefaultKey(Effect.succeed("dpipe run report"))),
  /**
   * Points per chart series (longer runs are downsampled evenly). Semantic, not a perf
   * flag: it changes the bytes of report.html, and perf flags must not change outputs.
   */
  maxChartPoints: Schema.Int.check(Schema.isGreaterThan(1)).pipe(Schema.withDecodingDefaultKey(Effect.succeed(600))),
  /**
   * The planner's predicted held-out loss of the DP model and its source (the pipeline
   * sets it when a scaling law chose the recipe): shown beside the achieved loss.
   */
  predictedLoss: Schema.optionalKey(Schema.Struct({ dp: Schema.Finite, source: Schema.String }))
})

export const report = Stage.make({
  name: "report",
  version: "1",
  description: "A self-contained report.html (charts, evaluation, memorization, privacy statement) and a summary.",
  config: ReportConfig,
  inputs: {
    statement: Artifact.json("privacy-statement", PrivacyStatement),
    dpMetrics: Artifact.table(TrainMetrics, { description: "the dp-train stage's metrics" }),
    baselineMetrics: Artifact.table(TrainMetrics, { description: "the non-private baseline's metrics" }),
    /** The evaluate stage's output, as it is. */
    evaluation: Artifact.json("evaluation", Evaluation),
    /** The memorization stage's `memorization` output, as it is. */
    memorization: Artifact.json("memorization", Memorization)
  },
  outputs: {
    report: Artifact.file("report", "html", { description: "self-contained HTML report (private: shows private artifacts with their label)" }),
    summary: Artifact.json("report-summary", ReportSummary)
  },
  run: ({ config, inputs }) =>
    Effect.gen(function* () {
      const read = (which: string, t: typeof inputs.dpMetrics) =>
        t.readAll.pipe(Effect.mapError((e) => new StageFailed({ message: `report: reading the ${which} metrics table (${e.path}): ${e.message}` })))
      const dpMetrics = yield* read("DP", inputs.dpMetrics)
      const baselineMetrics = yield* read("non-private", inputs.baselineMetrics)
      const out = yield* Effect.try({
        try: () =>
          renderReport({
            title: config.title,
            statement: inputs.statement,
            dpMetrics,
            baselineMetrics,
            evaluation: inputs.evaluation,
            memorization: inputs.memorization,
            maxChartPoints: config.maxChartPoints,
            ...(config.predictedLoss === undefined ? {} : { predictedLoss: config.predictedLoss })
          }),
        catch: (e) => new StageFailed({ message: `report: rendering failed (${String(e)}); this is a bug in report-stages/render.ts, please report it with the run id` })
      })
      return { report: out.html, summary: out.summary }
    })
})
