/**
 * The three displays of the CLI contract: live bars on a terminal (cli-progress
 * MultiBar: stage, step/total, metrics such as loss and epsilon, ETA), plain lines
 * when stdout is not a terminal (progress at most every 10% or 10 s per stage), and
 * JSON lines with --json. Plus the log file writer, always on.
 */
import { appendFileSync, mkdirSync } from "node:fs"
import { dirname } from "node:path"
import cliProgress from "cli-progress"
import type { Reporter, RunEvent } from "./events.ts"
import { formatCount, formatDuration, formatMetrics } from "./format.ts"

const line = (e: RunEvent): string | undefined => {
  switch (e.type) {
    case "run-start": return `${e.resumed ? "resuming" : "starting"} run ${e.runId}: pipeline ${e.pipeline}, scale ${e.scale}, ${e.nodes.length} stages`
    case "stage-start": return `[${e.node}] running (key ${e.key.slice(0, 12)})`
    case "stage-progress": return `[${e.node}] ${formatCount(e.step, e.total)} ${formatMetrics(e.metrics)}`
    case "stage-info": return `[${e.node}] ${e.message}`
    case "stage-telemetry": return `[${e.node}] telemetry ${formatMetrics(e.values)}`
    case "stage-cached": return `[${e.node}] cached (key ${e.key.slice(0, 12)})`
    case "stage-done": return `[${e.node}] done in ${formatDuration(e.durationMs)}`
    case "stage-failed": return `[${e.node}] FAILED: ${e.error}`
    case "stage-blocked": return `[${e.node}] not run: ${e.because}`
    case "warning": return `warning${e.node !== undefined ? ` [${e.node}]` : ""}: ${e.message}`
    case "run-end": {
      const eps = e.epsilon !== undefined && Object.keys(e.epsilon).length > 0 ? `, epsilon ${Object.entries(e.epsilon).map(([k, v]) => `${v.toFixed(4)} (${k})`).join(" / ")}` : ""
      return `run ${e.runId} ${e.status}: ${e.executed} stages executed, ${e.cached} cached${eps}`
    }
  }
}

/** Appends every event as a timestamped line to the run's log file. */
export const logFileReporter = (path: string): Reporter => {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
  return {
    emit: (e) => {
      try {
        appendFileSync(path, `${new Date().toISOString()} ${line(e) ?? ""}\n`, { mode: 0o600 }) // owner only (store/permissions.ts)
      } catch {
        // the log is best effort; the run record is authoritative
      }
    },
    close: () => undefined
  }
}

export const jsonLinesReporter = (write: (s: string) => void = (s) => process.stdout.write(s)): Reporter => ({
  emit: (e) => write(JSON.stringify({ time: new Date().toISOString(), ...e }) + "\n"),
  close: () => undefined
})

export const plainReporter = (write: (s: string) => void = (s) => process.stdout.write(s)): Reporter => {
  const last = new Map<string, { readonly fraction: number; readonly time: number }>()
  return {
    emit: (e) => {
      if (e.type === "stage-progress") {
        const prev = last.get(e.node)
        const fraction = e.total > 0 ? e.step / e.total : 0
        const now = Date.now()
        if (prev !== undefined && fraction < 1 && fraction - prev.fraction < 0.1 && now - prev.time < 10_000) return
        last.set(e.node, { fraction, time: now })
      }
      const l = line(e)
      if (l !== undefined) write(l + "\n")
    },
    close: () => undefined
  }
}

/** Live bars, one per running stage; other events print above the bars. */
export const ttyReporter = (): Reporter => {
  const multi = new cliProgress.MultiBar(
    {
      format: " {node} |{bar}| {value}/{total} {metrics} eta {eta_formatted}",
      hideCursor: true,
      clearOnComplete: false,
      stopOnComplete: false,
      barsize: 24,
      etaBuffer: 50,
      fps: 8
    },
    cliProgress.Presets.shades_grey
  )
  const bars = new Map<string, cliProgress.SingleBar>()
  return {
    emit: (e) => {
      if (e.type === "stage-progress") {
        let bar = bars.get(e.node)
        if (bar === undefined) {
          // An unknown total (0) gets a count without a bar, total or ETA.
          bar = e.total > 0
            ? multi.create(e.total, 0, { node: e.node.padEnd(12), metrics: "" })
            : multi.create(0, 0, { node: e.node.padEnd(12), metrics: "" }, { format: " {node} {value} {metrics}" })
          bars.set(e.node, bar)
        }
        if (e.total > 0) bar.setTotal(e.total)
        bar.update(e.step, { node: e.node.padEnd(12), metrics: formatMetrics(e.metrics) })
        return
      }
      if (e.type === "stage-done" || e.type === "stage-failed") {
        const bar = bars.get(e.node)
        if (bar !== undefined) {
          bar.stop()
          multi.remove(bar)
          bars.delete(e.node)
        }
      }
      const l = line(e)
      if (l !== undefined) multi.log(l + "\n")
    },
    close: () => multi.stop()
  }
}
