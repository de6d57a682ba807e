/**
 * lr-tuning: an accounted DP-SGD learning-rate sweep on the private mail. Three candidate
 * peak learning rates; each trial trains the micro model with DP-SGD and is scored on public
 * text; only the best trial is released (weights, learning rate, score), accounted by
 * composing the trials or by private selection (Papernot and Steinke 2022), whichever is
 * smaller at the budget's delta (docs/privacy.md, P14). The sweep records one event against
 * the corpus in the store's privacy ledger.
 *
 *   corpus, public-corpus -> split, tokenizer -> pack -> dp-tune (selection printed at the end)
 *
 * `--set dp-tune.tuning.accounting=selection` forces private selection (a random number of
 * trials, geometric with E[K] = 3); with three candidates composition is the smaller bound.
 */
import { Pipeline } from "@dpipe/dsl"
import { addDataStages, dataScales, defaultAccountants, dpTune } from "@dpipe/stages"

const BUDGET = { epsilon: 8, delta: 1e-6 }
const microModel = { dModel: 32, layers: 1, heads: 2, kvHeads: 1, headDim: 16, ffnDim: 64 }

export default Pipeline.make(
  "lr-tuning",
  {
    description: "An accounted DP-SGD learning-rate sweep: only the best trial is released, its privacy cost composed or privately selected",
    scales: { micro: { ...dataScales.micro } },
    defaultScale: "micro",
    privacy: { budget: BUDGET, accountants: defaultAccountants }
  },
  (b) => {
    const data = addDataStages(b)
    const tune = b.add("dp-tune", dpTune, {
      config: {
        train: { model: microModel, steps: 20, samplingRate: 0.0015, clipNorm: 1, noiseMultiplier: 0.6, optimizer: { warmupSteps: 2 } },
        learningRates: [0.003, 0.01, 0.03],
        tuning: { delta: BUDGET.delta, scoreSequences: 16 }
      },
      inputs: { sequences: data.pack.out.train_sequences, tokenizer: data.tokenizer.out.tokenizer }
    })
    return { summary: tune.out.selection }
  }
)
