/**
 * Run events: what the executor tells the progress display, the log file and
 * `--json` consumers. One JSON line per event with --json.
 */
import type { ProgressMetrics } from "@dpipe/dsl"

export type RunEvent =
  | { readonly type: "run-start"; readonly runId: string; readonly pipeline: string; readonly scale: string; readonly nodes: ReadonlyArray<string>; readonly resumed: boolean }
  | { readonly type: "stage-start"; readonly node: string; readonly stage: string; readonly key: string }
  | { readonly type: "stage-progress"; readonly node: string; readonly step: number; readonly total: number; readonly metrics: ProgressMetrics }
  | { readonly type: "stage-info"; readonly node: string; readonly message: string }
  | { readonly type: "stage-telemetry"; readonly node: string; readonly values: ProgressMetrics }
  | { readonly type: "stage-cached"; readonly node: string; readonly key: string }
  | { readonly type: "stage-done"; readonly node: string; readonly durationMs: number }
  | { readonly type: "stage-failed"; readonly node: string; readonly error: string }
  | { readonly type: "stage-blocked"; readonly node: string; readonly because: string }
  | { readonly type: "warning"; readonly node?: string; readonly message: string }
  | { readonly type: "run-end"; readonly runId: string; readonly status: string; readonly executed: number; readonly cached: number; readonly epsilon?: Readonly<Record<string, number>> }

/** Receives run events; implementations must not throw. */
export interface Reporter {
  readonly emit: (event: RunEvent) => void
  /** Flushes and stops any live display. */
  readonly close: () => void
}

export const combineReporters = (...reporters: ReadonlyArray<Reporter>): Reporter => ({
  emit: (e) => {
    for (const r of reporters) r.emit(e)
  },
  close: () => {
    for (const r of reporters) r.close()
  }
})

/** Keeps events in memory (tests, summaries). */
export const collectingReporter = (): Reporter & { readonly events: Array<RunEvent> } => {
  const events: Array<RunEvent> = []
  return { events, emit: (e) => void events.push(e), close: () => undefined }
}
