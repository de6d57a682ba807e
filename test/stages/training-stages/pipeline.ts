/** A micro DP-training pipeline for the training-stage tests: data (micro) -> dp-train + train. */
import { Pipeline } from "@dpipe/dsl"
import { addDataStages, dataScales } from "@dpipe/stages/data-stages/index"
import { defaultAccountants } from "@dpipe/stages/privacy/accountants"
import { dpTrain, train } from "@dpipe/stages/training-stages/index"

export const microModel = { dModel: 32, layers: 1, heads: 2, kvHeads: 1, headDim: 16, ffnDim: 64 }

export const trainPipeline = (budgetEpsilon = 8) =>
  Pipeline.make(
    "train-micro",
    {
      scales: { micro: { ...dataScales.micro, "pack.canaries.count": 0 } },
      defaultScale: "micro",
      privacy: { budget: { epsilon: budgetEpsilon, delta: 1e-5 }, accountants: defaultAccountants }
    },
    (b) => {
      const d = addDataStages(b)
      const common = { model: microModel, steps: 12, samplingRate: 0.002, clipNorm: 1, noiseMultiplier: 1.0, optimizer: { peakLr: 3e-3, warmupSteps: 2 } }
      b.add("dp-train", dpTrain, { config: common, perf: { microBatchSize: 16, checkpointEvery: 4 }, inputs: { sequences: d.pack.out.train_sequences, tokenizer: d.tokenizer.out.tokenizer } })
      b.add("baseline", train, { config: common, perf: { microBatchSize: 16, checkpointEvery: 4 }, inputs: { sequences: d.pack.out.train_sequences, tokenizer: d.tokenizer.out.tokenizer } })
    }
  )
