/**
 * Accounted hyperparameter tuning: `dpTune` (a DP-SGD learning-rate sweep that releases only
 * the best trial, accounted by composition or by private selection, whichever is smaller).
 */
export { dpTune, selectionText, TuningConfig, TuningSelection, TuningSettings, tuningPlan, type TuningPlan } from "./tuning.ts"
