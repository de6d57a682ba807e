/** The scaling-law stages: the public proxy corpus, one sweep point, the grid of the sweep, the fit and the report. */
export { PublicMailConfig, publicMail } from "./public-mail.ts"
export { SweepRunConfig, SweepRunPerf, sweepRun } from "./sweep-run.ts"
export { SweepObservations, type SweepObservationRow } from "./tables.ts"
export { GRID, LR_EXPONENTS, SIGMA_BAR_EXPONENTS, SWEEP_MODELS, SWEEP_MODEL_NAMES, enabledPoints, pointId, sweepSettings, type GridPoint, type SweepModelName, type SweepScale } from "./grid.ts"
export { FitConfig, FitResiduals, fitStage, lawResiduals } from "./fit.ts"
export { isoNoise, plannerSweep, renderScalingReport, type PlannerSettings, type ScalingReportInput } from "./render.ts"
export { ScalingReportConfig, ScalingReportSummary, scalingReport } from "./report.ts"
