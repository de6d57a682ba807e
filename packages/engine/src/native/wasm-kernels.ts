/**
 * The native compute path: OpenBLAS-backed matrix-product kernels registered on tfjs'
 * wasm backend, working on the tensors' memory in the wasm heap (zero copy).
 *
 * Choice, by measurement (bench/train.ts, tiny shape, batch 64, one worker, side by side):
 * replacing only the wasm backend's `BatchMatMul` with an OpenBLAS call took non-private
 * training from about 6,600 to 11,900 tokens/s, outputs within 5e-5 relative of the stock
 * kernel. The alternatives were a thin engine of our own over Float32Arrays (every
 * elementwise kernel, softmax and RMSNorm rewritten and re-tested) or the cpu backend
 * (public kernel API, but its elementwise kernels are JS loops, several times slower than
 * wasm's). Keeping tfjs' wasm backend for everything that is not a matrix product and
 * handing products to BLAS gives most of the gain at a fraction of the risk; the kernels
 * here are the only code that knows the backend's internals.
 *
 * Internals relied on (tfjs-backend-wasm 4.22.0, pinned exactly in package.json and
 * checked by `checkWasmInternals`, which a test runs): the backend object has `wasm.HEAPU8`
 * (the heap, replaced when memory grows), `dataIdMap.get(dataId).memoryOffset` (a float32
 * tensor's byte offset in the heap) and `makeOutput(shape, dtype)` (allocates an output).
 * Views of the heap are made after every allocation of a kernel, never kept across one:
 * growing the heap detaches the old buffer.
 *
 * Kernels: `BatchMatMul` (every `tf.matMul`, all transposes, batched and broadcast batch
 * dimensions) and `_FusedMatMul` (linear or relu, optional rank-1 bias; other activations
 * fall back to the stock kernel). Installing replaces the wasm backend's kernels in the
 * registry of this thread; `uninstallNativeKernels` restores the stock ones.
 */
import * as tf from "@tensorflow/tfjs-core"
import type { OpenBlas } from "@dpipe/engine/native/openblas"

/** The tfjs-backend-wasm version whose internals these kernels rely on. */
export const WASM_BACKEND_VERSION = "4.22.0"

interface HeapData {
  readonly memoryOffset: number | null
  readonly dtype: string
}
/** The parts of tfjs-backend-wasm's `BackendWasm` used here. */
interface WasmInternals {
  readonly wasm: { readonly HEAPU8: Uint8Array }
  readonly dataIdMap: { get(dataId: object): HeapData | undefined }
  makeOutput(shape: ReadonlyArray<number>, dtype: "float32"): tf.TensorInfo
}

const isWasmInternals = (b: unknown): b is WasmInternals => {
  if (typeof b !== "object" || b === null) return false
  const r = b as Record<string, unknown>
  const wasm = r["wasm"] as Record<string, unknown> | undefined
  const map = r["dataIdMap"] as Record<string, unknown> | undefined
  return (
    typeof wasm === "object" &&
    wasm !== null &&
    wasm["HEAPU8"] instanceof Uint8Array &&
    typeof map === "object" &&
    map !== null &&
    typeof map["get"] === "function" &&
    typeof r["makeOutput"] === "function"
  )
}

/**
 * Throws unless the active tfjs backend is wasm with the internals these kernels use, and
 * a float32 tensor's bytes sit at its `memoryOffset`. Run by `installNativeKernels` and by a test.
 */
export const checkWasmInternals = (version: string): WasmInternals => {
  if (version !== WASM_BACKEND_VERSION) {
    throw new Error(`native kernels are written against @tensorflow/tfjs-backend-wasm ${WASM_BACKEND_VERSION} internals, found ${version}: pin it back or port native/wasm-kernels.ts`)
  }
  if (tf.getBackend() !== "wasm") throw new Error(`native kernels need the wasm backend active, found ${tf.getBackend()}`)
  const b: unknown = tf.backend()
  if (!isWasmInternals(b)) throw new Error("tfjs-backend-wasm's BackendWasm no longer has wasm.HEAPU8, dataIdMap and makeOutput: port native/wasm-kernels.ts")
  const probe = tf.tensor1d([1.5, -2.25, 3.125])
  try {
    const v = heapView(b, probe, 3)
    if (v[0] !== 1.5 || v[1] !== -2.25 || v[2] !== 3.125) throw new Error("a float32 tensor's bytes are not at its dataIdMap memoryOffset: port native/wasm-kernels.ts")
  } finally {
    probe.dispose()
  }
  return b
}

/** A Float32Array over a float32 tensor's heap memory. Valid until the next heap allocation. */
const heapView = (b: WasmInternals, t: tf.TensorInfo, size: number): Float32Array => {
  const d = b.dataIdMap.get(t.dataId)
  if (d === undefined || d.memoryOffset === null) throw new Error("tensor has no wasm heap memory")
  return new Float32Array(b.wasm.HEAPU8.buffer, d.memoryOffset, size)
}

/**
 * Zero-copy view of a float32 tensor's values on the wasm backend (undefined on other
 * backends or dtypes). Valid only until tfjs allocates again: read it at once.
 */
export const tensorHeapView = (t: tf.Tensor): Float32Array | undefined => {
  if (t.dtype !== "float32" || tf.getBackend() !== "wasm") return undefined
  const b: unknown = tf.backend()
  if (!isWasmInternals(b)) return undefined
  return heapView(b, t, t.size)
}

const sizeOf = (shape: ReadonlyArray<number>): number => shape.reduce((a, x) => a * x, 1)

interface MatMulShape {
  readonly outShape: Array<number>
  readonly batchA: number
  readonly batchB: number
  readonly batch: number
  readonly m: number
  readonly n: number
  readonly k: number
}

/** Shapes of op(A)[.., m, k] op(B)[.., k, n]; undefined when the batch dims broadcast other than 1-vs-all. */
const matMulShape = (a: tf.TensorInfo, b: tf.TensorInfo, transposeA: boolean, transposeB: boolean): MatMulShape | undefined => {
  const ra = a.shape.length
  const rb = b.shape.length
  const m = (transposeA ? a.shape[ra - 1] : a.shape[ra - 2]) as number
  const k = (transposeA ? a.shape[ra - 2] : a.shape[ra - 1]) as number
  const kb = (transposeB ? b.shape[rb - 1] : b.shape[rb - 2]) as number
  const n = (transposeB ? b.shape[rb - 2] : b.shape[rb - 1]) as number
  if (k !== kb) throw new Error(`Error in matMul: inner shapes (${k}) and (${kb}) of Tensors with shapes ${a.shape} and ${b.shape} and transposeA=${transposeA} and transposeB=${transposeB} must match.`)
  const outerA = a.shape.slice(0, -2)
  const outerB = b.shape.slice(0, -2)
  const batchA = sizeOf(outerA)
  const batchB = sizeOf(outerB)
  let outer: Array<number>
  if (batchA === batchB) outer = outerA.length >= outerB.length ? [...outerA] : [...outerB]
  else if (batchA === 1) outer = outerB.length >= outerA.length ? [...outerB] : [...outerA]
  else if (batchB === 1) outer = outerA.length >= outerB.length ? [...outerA] : [...outerB]
  else return undefined
  // same size but different batch shapes of one rank (e.g. [2,3] vs [3,2]): left to the stock kernel
  if (batchA === batchB && outerA.length === outerB.length && outerA.join() !== outerB.join()) return undefined
  return { outShape: [...outer, m, n], batchA, batchB, batch: Math.max(batchA, batchB), m, n, k }
}

/**
 * op(A) op(B) for every batch entry into `out` (row-major, contiguous). When B is shared
 * (batchB = 1) and A is not transposed, the batch folds into one product of batch*m rows.
 */
const batchedGemm = (
  blas: OpenBlas,
  s: MatMulShape,
  av: Float32Array,
  bv: Float32Array,
  ov: Float32Array,
  transposeA: boolean,
  transposeB: boolean
): void => {
  const { m, n, k } = s
  const lda = transposeA ? m : k
  const ldb = transposeB ? k : n
  if (s.batchB === 1 && !transposeA) {
    blas.sgemm(false, transposeB, s.batchA * m, n, k, 1, av, lda, bv, ldb, 0, ov, n)
    return
  }
  const strideA = s.batchA === 1 ? 0 : m * k
  const strideB = s.batchB === 1 ? 0 : k * n
  for (let i = 0; i < s.batch; i++) {
    blas.sgemm(transposeA, transposeB, m, n, k, 1, av.subarray(i * strideA), lda, bv.subarray(i * strideB), ldb, 0, ov.subarray(i * m * n), n)
  }
}

interface MatMulAttrs {
  readonly transposeA: boolean
  readonly transposeB: boolean
}
interface FusedAttrs extends MatMulAttrs {
  readonly activation?: string
}

const NATIVE_FUSED_ACTIVATIONS = new Set(["linear", "relu"])

let installed: { readonly stock: ReadonlyArray<tf.KernelConfig>; readonly blas: OpenBlas } | undefined

/** Whether matrix products in this thread run on OpenBLAS (the model then prefers batched products). */
export const nativeKernelsActive = (): boolean => installed !== undefined && tf.getBackend() === "wasm"

/**
 * Registers the BLAS-backed kernels on the wasm backend of this thread (wasm must be the
 * active backend). Idempotent. Throws when the backend's internals are not the expected ones.
 */
export const installNativeKernels = (blas: OpenBlas, wasmVersion: string): void => {
  if (installed !== undefined) return
  const internals = checkWasmInternals(wasmVersion)
  const names = [tf.BatchMatMul, tf._FusedMatMul]
  const stock = names.map((n) => {
    const c = tf.getKernel(n, "wasm")
    if (c === undefined) throw new Error(`tfjs-backend-wasm has no ${n} kernel: port native/wasm-kernels.ts`)
    return c
  })
  const [stockMatMul, stockFused] = stock as [tf.KernelConfig, tf.KernelConfig]
  const matMul = (inputs: tf.NamedTensorInfoMap, attrs: MatMulAttrs): tf.TensorInfo | undefined => {
    const a = inputs["a"]
    const b = inputs["b"]
    if (a === undefined || b === undefined || a.dtype !== "float32" || b.dtype !== "float32") return undefined
    const s = matMulShape(a, b, attrs.transposeA, attrs.transposeB)
    if (s === undefined) return undefined
    const out = internals.makeOutput(s.outShape, "float32")
    // views after the output allocation (it may grow the heap)
    const av = heapView(internals, a, sizeOf(a.shape))
    const bv = heapView(internals, b, sizeOf(b.shape))
    const ov = heapView(internals, out, sizeOf(s.outShape))
    batchedGemm(blas, s, av, bv, ov, attrs.transposeA, attrs.transposeB)
    return out
  }
  const batchMatMulKernel: tf.KernelFunc = (args) => {
    const attrs = args.attrs as unknown as MatMulAttrs
    return matMul(args.inputs, attrs) ?? (stockMatMul.kernelFunc(args) as tf.TensorInfo)
  }
  const fusedKernel: tf.KernelFunc = (args) => {
    const attrs = args.attrs as unknown as FusedAttrs
    const activation = attrs.activation ?? "linear"
    const bias = args.inputs["bias"]
    const n = args.inputs["b"] === undefined ? 0 : ((attrs.transposeB ? args.inputs["b"].shape.at(-2) : args.inputs["b"].shape.at(-1)) ?? 0)
    const biasOk = bias === undefined || (bias.dtype === "float32" && bias.shape.length === 1 && (bias.shape[0] === n || bias.shape[0] === 1))
    if (!NATIVE_FUSED_ACTIVATIONS.has(activation) || !biasOk || args.inputs["preluActivationWeights"] !== undefined) {
      return stockFused.kernelFunc(args) as tf.TensorInfo
    }
    const out = matMul(args.inputs, attrs)
    if (out === undefined) return stockFused.kernelFunc(args) as tf.TensorInfo
    const size = sizeOf(out.shape)
    const ov = heapView(internals, out, size)
    if (bias !== undefined) {
      const bv = heapView(internals, bias, bias.shape[0] as number)
      if (bv.length === 1) {
        const b0 = bv[0] as number
        for (let i = 0; i < size; i++) ov[i] = (ov[i] as number) + b0
      } else for (let i = 0; i < size; i += n) for (let j = 0; j < n; j++) ov[i + j] = (ov[i + j] as number) + (bv[j] as number)
    }
    if (activation === "relu") for (let i = 0; i < size; i++) if (!((ov[i] as number) > 0)) ov[i] = (ov[i] as number) < 0 ? 0 : (ov[i] as number)
    return out
  }
  for (const [name, kernelFunc] of [
    [tf.BatchMatMul, batchMatMulKernel],
    [tf._FusedMatMul, fusedKernel]
  ] as const) {
    tf.unregisterKernel(name, "wasm")
    tf.registerKernel({ kernelName: name, backendName: "wasm", kernelFunc })
  }
  installed = { stock, blas }
}

/** Restores the stock wasm kernels in this thread (the `wasm` backend setting). */
export const uninstallNativeKernels = (): void => {
  if (installed === undefined) return
  for (const c of installed.stock) {
    tf.unregisterKernel(c.kernelName, "wasm")
    tf.registerKernel(c)
  }
  installed = undefined
}

/** The OpenBLAS instance the kernels of this thread use, when installed. */
export const nativeBlas = (): OpenBlas | undefined => (tf.getBackend() === "wasm" ? installed?.blas : undefined)
