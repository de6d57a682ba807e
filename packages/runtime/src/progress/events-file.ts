/**
 * The run's progress record, runs/<run-id>/logs/events.jsonl: every run event of every
 * invocation as one JSON line (the `--json` format: the event plus its time), appended
 * by the executor while the run goes on. It is how a second process (the dashboard of
 * `pipeline ui`) follows a run live: run.json says what state each stage is in, this
 * file says how far it got (step, loss, epsilon, throughput) and what it reported.
 *
 * A record, not an artifact: it holds wall-clock times and nothing hashes it into a
 * key. Each event is one append of one whole line (O_APPEND), so a reader sees whole
 * lines plus at most a partial last one, which it leaves for its next read.
 */
import { Schema } from "effect"
import { appendFileSync, mkdirSync } from "node:fs"
import { open } from "node:fs/promises"
import { dirname, join } from "node:path"
import type { StoreLayout } from "../store/layout.ts"
import type { Reporter } from "./events.ts"

/** runs/<run-id>/logs/events.jsonl */
export const eventsFile = (store: StoreLayout, runId: string): string => join(store.runDir(runId), "logs", "events.jsonl")

const Metrics = Schema.Record(Schema.String, Schema.Union([Schema.Number, Schema.String]))
const Time = { time: Schema.String }

/** One line of events.jsonl: a RunEvent (progress/events.ts) and when it happened. */
export const RunEventLine = Schema.Union([
  Schema.Struct({ ...Time, type: Schema.Literal("run-start"), runId: Schema.String, pipeline: Schema.String, scale: Schema.String, nodes: Schema.Array(Schema.String), resumed: Schema.Boolean }),
  Schema.Struct({ ...Time, type: Schema.Literal("stage-start"), node: Schema.String, stage: Schema.String, key: Schema.String }),
  Schema.Struct({ ...Time, type: Schema.Literal("stage-progress"), node: Schema.String, step: Schema.Number, total: Schema.Number, metrics: Metrics }),
  Schema.Struct({ ...Time, type: Schema.Literal("stage-info"), node: Schema.String, message: Schema.String }),
  Schema.Struct({ ...Time, type: Schema.Literal("stage-telemetry"), node: Schema.String, values: Metrics }),
  Schema.Struct({ ...Time, type: Schema.Literal("stage-cached"), node: Schema.String, key: Schema.String }),
  Schema.Struct({ ...Time, type: Schema.Literal("stage-done"), node: Schema.String, durationMs: Schema.Number }),
  Schema.Struct({ ...Time, type: Schema.Literal("stage-failed"), node: Schema.String, error: Schema.String }),
  Schema.Struct({ ...Time, type: Schema.Literal("stage-blocked"), node: Schema.String, because: Schema.String }),
  Schema.Struct({ ...Time, type: Schema.Literal("warning"), node: Schema.optional(Schema.String), message: Schema.String }),
  Schema.Struct({
    ...Time,
    type: Schema.Literal("run-end"),
    runId: Schema.String,
    status: Schema.String,
    executed: Schema.Number,
    cached: Schema.Number,
    epsilon: Schema.optional(Schema.Record(Schema.String, Schema.Number))
  })
])
export type RunEventLine = typeof RunEventLine.Type

/** Appends every event to `path` as one JSON line; best effort, like the log file. */
export const eventsFileReporter = (path: string): Reporter => {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
  return {
    emit: (e) => {
      try {
        appendFileSync(path, JSON.stringify({ time: new Date().toISOString(), ...e }) + "\n", { mode: 0o600 }) // owner only (store/permissions.ts)
      } catch {
        // the record is best effort; run.json is authoritative
      }
    },
    close: () => undefined
  }
}

const decodeLine = Schema.decodeUnknownExit(Schema.fromJsonString(RunEventLine))

/**
 * Reads the whole lines of `path` from byte `offset` on: the events and the offset to
 * continue from. A missing file is an empty one; a line that does not decode (written
 * by a newer dpipe) is skipped.
 */
export const readEventsFrom = async (path: string, offset: number): Promise<{ readonly events: ReadonlyArray<RunEventLine>; readonly next: number }> => {
  let fh
  try {
    fh = await open(path, "r")
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return { events: [], next: offset }
    throw e
  }
  try {
    const size = (await fh.stat()).size
    // A shorter file than the offset was replaced: start over.
    const from = size < offset ? 0 : offset
    if (size === from) return { events: [], next: from }
    const buf = Buffer.alloc(size - from)
    const { bytesRead } = await fh.read(buf, 0, buf.length, from)
    const end = buf.subarray(0, bytesRead).lastIndexOf(0x0a)
    if (end < 0) return { events: [], next: from }
    const events: Array<RunEventLine> = []
    for (const line of buf.subarray(0, end).toString("utf8").split("\n")) {
      if (line.length === 0) continue
      const exit = decodeLine(line)
      if (exit._tag === "Success") events.push(exit.value)
    }
    return { events, next: from + end + 1 }
  } finally {
    await fh.close()
  }
}
