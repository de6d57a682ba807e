/**
 * TensorFlow.js backend selection: `wasm` (default: XNNPACK kernels, one thread in Node),
 * `cpu` (pure-JS reference, ~35x slower on matmul here) and `tensorflow` (libtensorflow via
 * @tensorflow/tfjs-node-gpu or @tensorflow/tfjs-node, loaded dynamically when installed:
 * the fast path on GPU machines; it cannot be installed on this machine because its
 * install script downloads libtensorflow).
 *
 * Each worker thread calls `initBackend` itself: tfjs state is per thread.
 */
import * as tf from "@tensorflow/tfjs-core"
import { Schema } from "effect"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"

export const BackendName = Schema.Literals(["wasm", "cpu", "tensorflow"])
export type BackendName = typeof BackendName.Type

/** The requested backend cannot be loaded on this machine. */
export class BackendUnavailable extends Schema.TaggedError<BackendUnavailable>()("BackendUnavailable", {
  backend: Schema.String,
  reason: Schema.String
}) {}

let active: BackendName | undefined
let wasmPathsSet = false

/** Directory holding tfjs-backend-wasm's .wasm files (Node needs a file path, not a URL). */
export const wasmDir = (): string => {
  const require = createRequire(import.meta.url)
  return join(dirname(require.resolve("@tensorflow/tfjs-backend-wasm")), "/")
}

const dynamicImport = (name: string): Promise<unknown> => import(name)

/**
 * Loads and activates a backend in this thread. Idempotent for the same name.
 * Rejects with `BackendUnavailable` when the backend cannot be loaded.
 */
export const initBackend = (name: BackendName = "wasm"): Promise<BackendName> => {
  if (active === name && tf.getBackend() === name) return Promise.resolve(name)
  // Two stages of one process (DP and baseline training) may start together: share one
  // initialisation instead of racing two tf.setBackend calls.
  const running = pending.get(name)
  if (running !== undefined) return running
  const p = initBackendOnce(name).finally(() => pending.delete(name))
  pending.set(name, p)
  return p
}

const pending = new Map<BackendName, Promise<BackendName>>()

const initBackendOnce = async (name: BackendName): Promise<BackendName> => {
  if (active === name && tf.getBackend() === name) return name
  if (name === "wasm") {
    const wasm = await import("@tensorflow/tfjs-backend-wasm")
    if (!wasmPathsSet) {
      wasm.setWasmPaths(wasmDir())
      wasmPathsSet = true
    }
  } else if (name === "cpu") {
    await import("@tensorflow/tfjs-backend-cpu")
  } else {
    let loaded = false
    const errors: Array<string> = []
    for (const pkg of ["@tensorflow/tfjs-node-gpu", "@tensorflow/tfjs-node"]) {
      try {
        await dynamicImport(pkg)
        loaded = true
        break
      } catch (e) {
        errors.push(`${pkg}: ${e instanceof Error ? e.message.split("\n")[0] : String(e)}`)
      }
    }
    if (!loaded) {
      throw new BackendUnavailable({
        backend: name,
        reason: `neither @tensorflow/tfjs-node-gpu nor @tensorflow/tfjs-node is installed (${errors.join("; ")}); install one of them (it downloads libtensorflow) or use backend "wasm"`
      })
    }
  }
  const ok = await tf.setBackend(name)
  if (!ok) throw new BackendUnavailable({ backend: name, reason: `tf.setBackend("${name}") failed` })
  await tf.ready()
  active = name
  return name
}

/** The active backend of this thread, if any. */
export const activeBackend = (): BackendName | undefined => active
