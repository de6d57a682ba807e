/**
 * A micro pipeline for the evaluation-stage tests: data (micro, 3 canaries x 4 copies)
 * -> dp-train + baseline (20 steps) -> evaluate + memorization.
 */
import { Pipeline } from "@dpipe/dsl"
import { addDataStages, dataScales } from "@dpipe/stages/data-stages/index"
import { evaluate, memorization } from "@dpipe/stages/eval-stages/index"
import { defaultAccountants } from "@dpipe/stages/privacy/accountants"
import { dpTrain, train } from "@dpipe/stages/training-stages/index"

export const microModel = { dModel: 32, layers: 1, heads: 2, kvHeads: 1, headDim: 16, ffnDim: 64 }

export const evalPipeline = (candidates = 100) =>
  Pipeline.make(
    "eval-micro",
    {
      scales: { micro: { ...dataScales.micro, "pack.canaries.count": 3, "pack.canaries.repeats": 4 } },
      defaultScale: "micro",
      privacy: { budget: { epsilon: 8, delta: 1e-5 }, accountants: defaultAccountants }
    },
    (b) => {
      const d = addDataStages(b)
      const common = { model: microModel, steps: 20, samplingRate: 0.002, clipNorm: 1, noiseMultiplier: 1.0, optimizer: { peakLr: 1e-2, warmupSteps: 2 } }
      const perf = { microBatchSize: 16, checkpointEvery: 10 }
      const data = { sequences: d.pack.out.train_sequences, tokenizer: d.tokenizer.out.tokenizer }
      const dp = b.add("dp-train", dpTrain, { config: common, perf, inputs: data })
      const np = b.add("baseline", train, { config: common, perf, inputs: data })
      const models = { dp_weights: dp.out.weights, dp_model: dp.out.model, baseline_weights: np.out.weights, baseline_model: np.out.model }
      b.add("evaluate", evaluate, {
        config: { maxSequences: 256 },
        inputs: { eval_sequences: d.pack.out.eval_sequences, train_sequences: d.pack.out.train_sequences, tokenizer: d.tokenizer.out.tokenizer, ...models }
      })
      b.add("memorization", memorization, {
        config: { candidates, extraction: { sampleSize: 16, maxDuplicated: 16 } },
        inputs: { train_sequences: d.pack.out.train_sequences, canaries: d.pack.out.canaries, canary_info: d.pack.out.canary_info, tokenizer: d.tokenizer.out.tokenizer, ...models }
      })
    }
  )
