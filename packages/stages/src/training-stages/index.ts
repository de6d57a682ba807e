/** The training stages: dp-train (DP-SGD mechanism) and train (non-private baseline). */
export { ExecutionPlan, ModelShape, TrainConfig, TrainPerf, stepEvent, trainingEvent } from "./config.ts"
export { TrainMetrics } from "./tables.ts"
export { dpTrain, train } from "./train.ts"
export { describeEstimate, estimateTraining, trainingPreflight } from "./estimate.ts"
