/**
 * The run record (runs/<run-id>/run.json) held in memory while a run executes and
 * rewritten atomically on every change; updates are serialized.
 */
import { Effect, Schema, Semaphore } from "effect"
import { readFile } from "node:fs/promises"
import type { NodeRecord, RunRecord } from "./store/records.ts"
import { RunRecord as RunRecordSchema } from "./store/records.ts"
import { writeFileAtomic } from "./store/atomic.ts"
import { RunNotFound, StoreError, messageOf } from "./errors.ts"

export const readRunRecord = (path: string, runId: string) =>
  Effect.tryPromise({
    try: async () => Schema.decodeUnknownSync(RunRecordSchema)(JSON.parse(await readFile(path, "utf8"))),
    catch: (e) =>
      (e as NodeJS.ErrnoException).code === "ENOENT"
        ? new RunNotFound({ runId, message: `No run "${runId}" in this store (${path} is missing). List runs with \`pnpm pipeline runs\`.` })
        : new StoreError({ path, message: `${path} is not a valid run record: ${messageOf(e)}` })
  })

export const writeRunRecord = (path: string, record: RunRecord) =>
  Effect.tryPromise({
    try: () => writeFileAtomic(path, JSON.stringify(record, null, 2) + "\n"),
    catch: (e) => new StoreError({ path, message: `cannot write the run record: ${messageOf(e)}` })
  })

export interface RunState {
  readonly get: Effect.Effect<RunRecord>
  readonly update: (f: (r: RunRecord) => RunRecord) => Effect.Effect<RunRecord, StoreError>
  readonly updateNode: (node: string, f: (n: NodeRecord) => NodeRecord) => Effect.Effect<RunRecord, StoreError>
}

export const makeRunState = (path: string, initial: RunRecord) =>
  Effect.gen(function* () {
    let current = initial
    const lock = yield* Semaphore.make(1)
    yield* writeRunRecord(path, current)
    const update = (f: (r: RunRecord) => RunRecord) =>
      lock.withPermits(1)(
        Effect.gen(function* () {
          current = { ...f(current), updatedAt: new Date().toISOString() }
          yield* writeRunRecord(path, current)
          return current
        })
      )
    const state: RunState = {
      get: Effect.sync(() => current),
      update,
      updateNode: (node, f) => update((r) => ({ ...r, nodes: { ...r.nodes, [node]: f(r.nodes[node] ?? { stage: "?", status: "pending" }) } }))
    }
    return state
  })
