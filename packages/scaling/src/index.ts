/**
 * @dpipe/scaling: scaling laws for DP language models (McKenna et al. 2025, "Scaling Laws for
 * Differentially Private Language Models") and the planner that uses them. Pure, synchronous
 * math on top of @dpipe/accounting; failures are typed errors (errors.ts), thrown by the
 * fit and the planner, returned as Results by the law decoders.
 *
 * Observations (observations.ts): SweepObservation, ModelSpec schemas.
 * Fit (fit.ts): fitScalingLaw(observations, FitOptions): ScalingLaw — the semi-parametric
 *   method (smoothing.ts, extrapolation.ts, interpolation.ts underneath).
 * Law file (law.ts): ScalingLaw schema; decodeLaw, parseLaw, encodeLaw; readLaw / writeLaw
 *   (Effects on FileSystem).
 * Prediction (predict.ts): predictLoss(law, { params, steps, noiseBatchRatio }) (NaN outside), lawDomain.
 * Parametric fit (parametric.ts): fitParametricLaw(observations, options), predictParametric.
 * Planner (planner.ts): planTraining(law, { computeFlops, epsilon, delta, datasetSize, batchCap? }).
 * CLI glue (advice.ts): adviseFromLawText(text, path, request) for `pipeline advise`.
 */
export * from "./errors.ts"
export * from "./observations.ts"
export * from "./smoothing.ts"
export * from "./interpolation.ts"
export * from "./extrapolation.ts"
export * from "./parametric.ts"
export * from "./law.ts"
export * from "./fit.ts"
export * from "./predict.ts"
export * from "./planner.ts"
export * from "./advice.ts"
