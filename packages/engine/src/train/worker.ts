/**
 * Worker-thread entry for `WorkerEngine`: one tfjs instance per thread (the wasm backend is
 * single-threaded in Node), computing clipped gradient sums for its share of a batch.
 * Started with `new Worker(url, { execArgv: [] })`: Node 24 loads TypeScript itself (type stripping).
 */
import { parentPort } from "node:worker_threads"
import { LocalEngine } from "@dpipe/engine/train/engine"
import type { WorkerReply, WorkerRequest } from "@dpipe/engine/train/engine"

const port = parentPort
if (port === null) throw new Error("train/worker.ts must run as a worker thread")
let engine: LocalEngine | undefined

port.on("message", (m: WorkerRequest) => {
  if (m.type === "init") {
    LocalEngine.create(m.opts).then(
      (e) => {
        engine = e
        const reply: WorkerReply = { type: "ready", backend: e.backend }
        port.postMessage(reply)
      },
      (err: unknown) => {
        const reply: WorkerReply = { type: "error", id: -1, message: err instanceof Error ? err.message : String(err) }
        port.postMessage(reply)
      }
    )
    return
  }
  try {
    if (engine === undefined) throw new Error("worker not initialised")
    const result = engine.computeSync(m.params, m.indices, m.clipNorm)
    const reply: WorkerReply = { type: "result", id: m.id, result }
    port.postMessage(reply, [result.sum.buffer as ArrayBuffer])
  } catch (err) {
    const reply: WorkerReply = { type: "error", id: m.id, message: err instanceof Error ? (err.stack ?? err.message) : String(err) }
    port.postMessage(reply)
  }
})
