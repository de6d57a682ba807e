/**
 * dp-scaling: the scaling-law sweep of McKenna et al. 2025 ("Scaling Laws for
 * Differentially Private Language Models") for dpipe's default recipe, and the fitted law.
 *
 *   public-corpus -> tokenizer (BPE on public text, the recipe's settings) -> public-mail
 *   public-mail (SpamAssassin spam, declared public) -> run-<model>-nbr-<k>-lr-<j> (one per point)
 *   every run -> fit (semi-parametric + parametric law: law.json) -> report (report.html)
 *
 * Each run is one (model, noise-batch ratio sigma-bar = 2^-k or 0, learning rate 2^-j)
 * point, trained with the paper's decoupling: a fixed physical batch b, per-example
 * clipping normalised by c = 1, Gaussian noise of std sigma-bar on the mean gradient,
 * AdamW with warm-up and cosine decay. Every `evalEvery` steps its held-out loss on a
 * fixed eval set is an observation (T is read from the run, as in the paper). Runs are
 * independent stages: cached, checkpointed (resumable), run concurrently.
 *
 * DATA: the runs are NOT DP-accounted (sigma-bar is a hyperparameter), so they never see
 * the private corpus. The law is used by vaultgemma-1b, whose private data is SpamAssassin
 * ham (personal mail); the public proxy is the same corpus's spam groups (spam-1, spam-2):
 * bulk mail sent to many recipients, not personal correspondence, parsed by the same mail
 * parser and tokenized by the same public BPE tokenizer with the recipe's settings (tiny:
 * vocabulary 2048, 65-token sequences). The loss LEVEL of spam is not that of ham; how well
 * the law transfers is measured against the recipe's DP run (README, "DP scaling laws: the
 * dp-scaling pipeline").
 *
 * Scales: micro (a few minutes: 2 models x 3 sigma-bar x 1 lr, for tests), tiny (the
 * default: 4 models x 7 sigma-bar at lr 2^-7, and at 2^-5 too for the micro and tiny
 * models, 96 steps of 16: what this 2-core machine, shared and loaded, finishes in about an
 * hour; the law shipped in
 * pipelines/scaling-laws/mail-tiny.json), small (the recipe's small data: vocabulary 4096,
 * 129-token sequences; 3 lr, 400 steps of 64).
 */
import { Pipeline } from "@dpipe/dsl"
import type { Settings } from "@dpipe/dsl"
import { GRID, SWEEP_MODELS, type SweepScale, fitStage, publicCorpus, publicMail, scalingReport, sweepRun, sweepSettings, tokenizer } from "@dpipe/stages"

export const sweepScales: Record<string, SweepScale> = {
  micro: { models: ["micro", "tiny"], sigmaBarExponents: [null, 8, 4], lrExponents: [6], batchSize: 8, steps: 12, warmupSteps: 2, evalEvery: 3, evalSequences: 16 },
  tiny: { models: ["micro", "tiny", "mini", "small"], sigmaBarExponents: [null, 4, 6, 8, 10, 12, 14], lrExponents: [7], lrExponentsFor: { micro: [7, 5], tiny: [7, 5] }, batchSize: 16, steps: 96, warmupSteps: 6, evalEvery: 8, evalSequences: 64 },
  small: { models: ["micro", "tiny", "mini", "small"], sigmaBarExponents: [null, 4, 6, 8, 10, 12, 14], lrExponents: [7, 6, 5], batchSize: 64, steps: 400, warmupSteps: 20, evalEvery: 10, evalSequences: 256 }
}

export const scales: Record<string, Settings> = {
  micro: {
    "public-corpus.maxTexts": 20_000,
    "tokenizer.vocabSize": 512,
    "public-mail.seqLen": 33,
    "public-mail.maxDocuments": 400,
    "fit.sequenceLength": 32,
    "fit.minStep": 3,
    "report.datasetSize": 2_000,
    "report.log10ComputeMin": 10,
    "report.log10ComputeMax": 12,
    "report.points": 2,
    "report.batchGridSize": 8,
    ...sweepSettings(sweepScales.micro as SweepScale)
  },
  tiny: {
    "tokenizer.vocabSize": 2048,
    "public-mail.seqLen": 65,
    "fit.minStep": 16,
    "fit.extrapolateDoublings": 2,
    ...sweepSettings(sweepScales.tiny as SweepScale)
  },
  small: {
    "tokenizer.vocabSize": 4096,
    "public-mail.seqLen": 129,
    "fit.sequenceLength": 128,
    "fit.minStep": 40,
    "report.log10ComputeMin": 12,
    "report.log10ComputeMax": 16,
    ...sweepSettings(sweepScales.small as SweepScale)
  }
}

export default Pipeline.make(
  "dp-scaling",
  {
    description: "Scaling-law sweep for DP training (fixed batch, noise-batch ratio, public spam as the proxy of private ham), the fitted law and its report",
    scales,
    defaultScale: "tiny",
    concurrency: 3
  },
  (b) => {
    const pc = b.add("public-corpus", publicCorpus, { config: { sources: ["nlp-corpus", "brown"] } })
    const tok = b.add("tokenizer", tokenizer, { config: { vocabSize: 2048, minFrequency: 2 }, inputs: { texts: pc.out.texts } })
    const mail = b.add("public-mail", publicMail, { config: { seqLen: 65 }, inputs: { tokenizer: tok.out.tokenizer } })
    const runs = GRID.map((p) =>
      b.add(p.id, sweepRun, {
        config: { modelName: p.model, model: SWEEP_MODELS[p.model], noiseBatchRatio: p.noiseBatchRatio, learningRate: p.learningRate, batchSize: 32, steps: 160 },
        inputs: { sequences: mail.out.train_sequences, eval_sequences: mail.out.eval_sequences, tokenizer: tok.out.tokenizer }
      })
    )
    const fit = b.add("fit", fitStage(GRID.map((p) => p.id)), {
      config: { sequenceLength: 64, models: SWEEP_MODELS, source: "dp-scaling: SpamAssassin spam (public proxy of ham), public BPE" },
      inputs: Object.fromEntries(runs.map((r) => [r.id, r.out.observations]))
    })
    // The planner in the report: the recipe's budget (epsilon 8, delta 1e-6) and an assumed
    // public N of 48,000 sequences (the tiny recipe's ham, about 48k sequences of 65 tokens).
    const rep = b.add("report", scalingReport, {
      config: { epsilon: 8, delta: 1e-6, datasetSize: 48_000, log10ComputeMin: 11, log10ComputeMax: 15 },
      inputs: { law: fit.out.law, residuals: fit.out.residuals, observations: fit.out.observations }
    })
    return { publish: { "report.html": rep.out.report, "law.json": fit.out.law }, summary: rep.out.summary }
  }
)
