/**
 * @dpipe/runtime: runs dpipe plans. Run store, Parquet/Arrow codecs, executor,
 * mid-stage checkpoints, privacy ledger, progress display and the `pipeline` CLI.
 */
export { planPipeline, resumePipeline, runPipeline, type RunOptions } from "./api.ts"
export { readInput, writeOutput } from "./codecs/artifacts.ts"
export { readParquetTable, writeParquetTable, parquetInfo } from "./codecs/parquet-table.ts"
export { decodeTensors, encodeTensors } from "./codecs/tensors.ts"
export * from "./errors.ts"
export { executeRun, type ExecuteOptions, type RunSummary } from "./executor.ts"
export { collectingReporter, type Reporter, type RunEvent } from "./progress/events.ts"
export { readRunRecord } from "./run-state.ts"
export { layout, type StoreLayout } from "./store/layout.ts"
export { readLedger } from "./store/ledger-file.ts"
export type { Manifest, RunRecord } from "./store/records.ts"
export { runCli } from "./cli/main.ts"
