/**
 * The live feed of one run, /api/runs/:id/events, as server-sent events. The first
 * event, `snapshot`, holds the run record and every progress event so far; then the
 * store is polled (run.json for stage states, logs/events.jsonl for progress, the
 * run lock for a process that died) and each change is sent as a `run` event (the
 * whole record) or a `progress` event (the new lines). A comment every 15 s keeps
 * proxies from closing an idle stream. Polling works for a run of any process on
 * this machine, and for a store on a network file system, where change notifications
 * do not.
 */
import { Duration, Effect, Option, Schema, Stream } from "effect"
import { readFile } from "node:fs/promises"
import { eventsFile, readEventsFrom } from "../progress/events-file.ts"
import type { StoreLayout } from "../store/layout.ts"
import type { RunRecord } from "../store/records.ts"
import { RunRecord as RunRecordSchema } from "../store/records.ts"
import { RunProgress, RunSnapshot } from "./api-schemas.ts"
import { withLiveStatus } from "../store/live-status.ts"

const POLL = Duration.millis(150)
const HEARTBEAT_MS = 15_000

interface FeedState {
  readonly first: boolean
  readonly record: string
  readonly offset: number
  readonly lastSent: number
}

const message = (event: string, data: unknown): string => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`
const encodeSnapshot = Schema.encodeSync(RunSnapshot)
const encodeProgress = Schema.encodeSync(RunProgress)
const encodeRun = Schema.encodeSync(RunRecordSchema)
const decodeRun = Schema.decodeUnknownExit(Schema.fromJsonString(RunRecordSchema))

/** The current record with its live status; undefined while run.json is unreadable. */
const currentRecord = async (store: StoreLayout, runId: string): Promise<RunRecord | undefined> => {
  const text = await readFile(store.runFile(runId), "utf8").catch(() => undefined)
  if (text === undefined) return undefined
  const exit = decodeRun(text)
  return exit._tag === "Success" ? withLiveStatus(store, exit.value) : undefined
}

/** The SSE text of a run's feed; it ends only when the client goes away. */
export const runEventStream = (store: StoreLayout, runId: string): Stream.Stream<string> =>
  Stream.paginate<FeedState, string>({ first: true, record: "", offset: 0, lastSent: 0 }, (s) =>
    Effect.gen(function* () {
      if (!s.first) yield* Effect.sleep(POLL)
      const record = yield* Effect.promise(() => currentRecord(store, runId))
      const progress = yield* Effect.promise(() => readEventsFrom(eventsFile(store, runId), s.offset).catch(() => ({ events: [], next: s.offset })))
      const recordText = record === undefined ? s.record : JSON.stringify(record)
      const out: Array<string> = []
      const now = Date.now()
      if (s.first && record !== undefined) {
        out.push(message("snapshot", encodeSnapshot({ run: record, events: progress.events })))
      } else {
        if (record !== undefined && recordText !== s.record) out.push(message("run", encodeRun(record)))
        if (progress.events.length > 0) out.push(message("progress", encodeProgress({ events: progress.events })))
      }
      if (out.length === 0 && now - s.lastSent > HEARTBEAT_MS) out.push(": keep-alive\n\n")
      const sent = s.first && record === undefined ? s : { first: false, record: recordText, offset: progress.next, lastSent: out.length > 0 ? now : s.lastSent }
      return [out, Option.some(sent)] as const
    })
  )
