/**
 * The evaluation stages of DP pretraining:
 *   evaluate      eval + train sequences, tokenizer, DP and non-private models
 *                 -> evaluation (private): held-out loss, perplexity, bits per byte
 *                 for the DP model, the non-private baseline and a unigram baseline
 *   memorization  train sequences, canaries, tokenizer, DP and non-private models
 *                 -> memorization (private), canary_exposure table (private):
 *                 canary exposure (Carlini et al. 2019) and VaultGemma's prefix/suffix
 *                 extraction test, scaled down
 */
export { evaluate } from "./evaluate.ts"
export { memorization } from "./memorization.ts"
export { CanaryExposure, EvalPerf, Evaluation, EvaluateConfig, ExtractionSettings, Memorization, MemorizationConfig, ModelEvaluation } from "./tables.ts"
