/** Human formatting of durations and metrics for the progress display and logs. */
import type { ProgressMetrics } from "@dpipe/dsl"

export const formatDuration = (ms: number): string => {
  if (!Number.isFinite(ms) || ms < 0) return "?"
  if (ms < 1000) return `${Math.round(ms)}ms`
  const s = ms / 1000
  if (s < 60) return `${s.toFixed(1)}s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m}m${String(Math.round(s % 60)).padStart(2, "0")}s`
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`
}

export const formatMetrics = (metrics: ProgressMetrics): string =>
  Object.entries(metrics)
    .map(([k, v]) => `${k}=${typeof v === "number" ? (Number.isInteger(v) ? String(v) : Math.abs(v) >= 100 ? v.toFixed(0) : v.toPrecision(4)) : v}`)
    .join(" ")

/** "256/1000", or "256" when the total is unknown (a stage reports total 0, e.g. a JSONL file being read). */
export const formatCount = (step: number, total: number): string => (total > 0 ? `${step}/${total}` : `${step}`)
