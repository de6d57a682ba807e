/**
 * TensorFlow.js backend selection:
 * - `native` (default): tfjs' wasm backend with its matrix products on OpenBLAS
 *   (native/wasm-kernels.ts; zero copy on the wasm heap). Where OpenBLAS is missing it
 *   prints one line saying how to install it and runs as `wasm`.
 * - `wasm`: the stock wasm backend (XNNPACK kernels, one thread in Node): the old path.
 * - `cpu`: the pure-JS reference, ~35x slower on matmul here.
 * - `tensorflow`: libtensorflow via @tensorflow/tfjs-node-gpu or @tensorflow/tfjs-node,
 *   loaded dynamically when installed: the fast path on GPU machines; it cannot be
 *   installed on this machine because its install script downloads libtensorflow.
 * A further backend (say tfjs' webgpu) is one more name here and one more branch of
 * `initBackendOnce`: the model and the DP code only ask `nativeKernelsActive()` whether
 * batched products are fast, and read tensors through tfjs otherwise.
 *
 * Each worker thread calls `initBackend` itself: tfjs state is per thread.
 */
import * as tf from "@tensorflow/tfjs-core"
import { Schema } from "effect"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import { isMainThread } from "node:worker_threads"
import { OPENBLAS_INSTALL_HINT, isOpenBlas, loadOpenBlas } from "@dpipe/engine/native/openblas"
import { WASM_BACKEND_VERSION, installNativeKernels, nativeBlas, uninstallNativeKernels } from "@dpipe/engine/native/wasm-kernels"

export const BackendName = Schema.Literals(["native", "wasm", "cpu", "tensorflow"])
export type BackendName = typeof BackendName.Type

/** The requested backend cannot be loaded on this machine. */
export class BackendUnavailable extends Schema.TaggedError<BackendUnavailable>()("BackendUnavailable", {
  backend: Schema.String,
  reason: Schema.String
}) {}

/** The backend used when none is named. */
export const DEFAULT_BACKEND: BackendName = "native"

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
export const initBackend = (name: BackendName = DEFAULT_BACKEND): Promise<BackendName> => {
  if (active === name && tf.getBackend() === tfName(name)) return Promise.resolve(name)
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
  if (active === name && tf.getBackend() === tfName(name)) return name
  if (name === "native") {
    const blas = loadOpenBlas()
    if (!isOpenBlas(blas)) {
      noteFallback(blas.reason)
      return initBackendOnce("wasm")
    }
    await initBackendOnce("wasm")
    installNativeKernels(blas, WASM_BACKEND_VERSION)
    active = "native"
    return "native"
  }
  uninstallNativeKernels()
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

/** tfjs' name of a backend (`native` is tfjs' wasm backend with BLAS kernels). */
const tfName = (name: BackendName): string => (name === "native" ? "wasm" : name)

let fallbackNoted = false
/**
 * The one line printed when `native` falls back to `wasm` (once per process: worker threads
 * report their backend to the main thread, which calls this).
 */
export const noteFallback = (reason: string): void => {
  if (fallbackNoted || !isMainThread) return
  fallbackNoted = true
  console.warn(`dpipe: OpenBLAS is not available (${reason}); training runs on the slower wasm path. Install it with: ${OPENBLAS_INSTALL_HINT}`)
}

/**
 * What a requested backend will run on, for a log line at start: `native` names OpenBLAS's
 * core (`openblas_get_corename`; `OPENBLAS_CORETYPE` overrides it) or says it falls back.
 */
export const backendSummary = (name: BackendName): string => {
  if (name !== "native") return name
  const blas = loadOpenBlas()
  return isOpenBlas(blas) ? `native (OpenBLAS ${blas.corename})` : "wasm (OpenBLAS missing)"
}

/** One line for logs: the backend of this thread, with OpenBLAS's core and threads on `native`. */
export const describeBackend = (): string => {
  const blas = nativeBlas()
  if (active === "native" && blas !== undefined) return `native (OpenBLAS ${blas.corename}, ${blas.threads()} thread(s))`
  return active ?? "none"
}
