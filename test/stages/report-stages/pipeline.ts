/**
 * A tiny pipeline for the report-stage tests: fake upstream stages (a DP "training"
 * that only emits its plan, model config and metrics; a non-private one; evaluation;
 * memorization) feeding the real `privacy-statement` and `report` stages. The fakes
 * carry the labels the real stages give their outputs (plan and model dp; metrics,
 * evaluation and memorization private).
 */
import { Effect, Schema } from "effect"
import { Artifact, Pipeline, Stage } from "@dpipe/dsl"
import { ModelConfig } from "@dpipe/engine/model/gemma"
import { Evaluation, Memorization } from "@dpipe/stages/eval-stages/tables"
import { privacyStatement, report } from "@dpipe/stages/report-stages/index"
import { ExecutionPlan } from "@dpipe/stages/training-stages/config"
import { TrainMetrics } from "@dpipe/stages/training-stages/tables"
import { evaluation, memorization, metricsRows, poissonPlan } from "./fixtures.ts"

const model: ModelConfig = { vocabSize: 300, contextLength: 127, dModel: 32, layers: 1, heads: 2, kvHeads: 1, headDim: 16, ffnDim: 64, tiedEmbeddings: true, ropeBase: 10000, normEps: 1e-6 }

const FakeTrainConfig = Schema.Struct({ steps: Schema.Int, samplingRate: Schema.Finite, noiseMultiplier: Schema.Finite })

export const fakeDpTrain = Stage.make({
  name: "fake-dp-train",
  version: "1",
  config: FakeTrainConfig,
  outputs: {
    plan: Artifact.json("execution-plan", ExecutionPlan, { label: "dp" }),
    model: Artifact.json("model-config", ModelConfig, { label: "dp" }),
    metrics: Artifact.table(TrainMetrics, { label: "private" })
  },
  run: ({ config }) =>
    Effect.succeed({
      plan: poissonPlan({ q: config.samplingRate, sigma: config.noiseMultiplier, steps: config.steps }),
      model,
      metrics: metricsRows(config.steps)
    })
})

export const fakeTrain = Stage.make({
  name: "fake-train",
  version: "1",
  config: FakeTrainConfig,
  outputs: { metrics: Artifact.table(TrainMetrics, { label: "private" }) },
  run: ({ config }) => Effect.succeed({ metrics: metricsRows(config.steps, { end: 2.5, noEpsilon: true }) })
})

export const fakeEvaluate = Stage.make({
  name: "fake-evaluate",
  version: "1",
  config: Schema.Struct({}),
  outputs: { evaluation: Artifact.json("evaluation", Evaluation, { label: "private" }) },
  run: () => Effect.succeed({ evaluation })
})

export const fakeMemorization = Stage.make({
  name: "fake-memorization",
  version: "1",
  config: Schema.Struct({}),
  outputs: { memorization: Artifact.json("memorization", Memorization, { label: "private" }) },
  run: () => Effect.succeed({ memorization })
})

export const DELTA = 1e-5
export const TRAIN = { steps: 30, samplingRate: 0.02, noiseMultiplier: 1.2 } as const

export const reportPipeline = () =>
  Pipeline.make("report-micro", {}, (b) => {
    const dp = b.add("dp-train", fakeDpTrain, { config: TRAIN })
    const baseline = b.add("baseline", fakeTrain, { config: TRAIN })
    const ev = b.add("evaluate", fakeEvaluate, {})
    const mem = b.add("memorization", fakeMemorization, {})
    const st = b.add("privacy-statement", privacyStatement, { config: { delta: DELTA, budgetEpsilon: 8 }, inputs: { plan: dp.out.plan, model: dp.out.model } })
    b.add("report", report, {
      config: { title: "report-micro <run>" },
      inputs: { statement: st.out.statement, dpMetrics: dp.out.metrics, baselineMetrics: baseline.out.metrics, evaluation: ev.out.evaluation, memorization: mem.out.memorization }
    })
  })
