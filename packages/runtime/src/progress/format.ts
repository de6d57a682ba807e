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

/** A metric named `<name>Accountant` labels the metric `<name>` with the accountant that computed it. */
const ACCOUNTANT_SUFFIX = "Accountant"

const formatValue = (v: number | string): string =>
  typeof v === "number" ? (Number.isInteger(v) ? String(v) : Math.abs(v) >= 100 ? v.toFixed(0) : v.toPrecision(4)) : v

/**
 * `loss=2.345 eps=5.648 (pld) tok/s=1200`: an epsilon is shown with the accountant that
 * computed it (its `epsAccountant` metric), so that it reads against the budget's accountant.
 */
export const formatMetrics = (metrics: ProgressMetrics): string =>
  Object.entries(metrics)
    .filter(([k]) => !(k.endsWith(ACCOUNTANT_SUFFIX) && k.slice(0, -ACCOUNTANT_SUFFIX.length) in metrics))
    .map(([k, v]) => {
      const accountant = metrics[`${k}${ACCOUNTANT_SUFFIX}`]
      return `${k}=${formatValue(v)}${accountant !== undefined ? ` (${accountant})` : ""}`
    })
    .join(" ")

/** "256/1000", or "256" when the total is unknown (a stage reports total 0, e.g. a JSONL file being read). */
export const formatCount = (step: number, total: number): string => (total > 0 ? `${step}/${total}` : `${step}`)
