/**
 * OpenBLAS through koffi: single-precision BLAS calls on the memory of typed arrays, zero copy.
 *
 * Why this shape (measured on this project's 2-core build machine, side by side):
 * - tfjs' wasm backend runs its sgemm at 20-30 GFLOP/s on square shapes but at about
 *   2 GFLOP/s on transposed and batched products, single-threaded in Node. Debian's
 *   OpenBLAS (`libopenblas0-pthread`) called from JS through koffi reaches 80-105 GFLOP/s
 *   at 512^3 on one thread and 60-100 on the skinny shapes of a small transformer.
 * - koffi passes a `Float32Array` argument as a pointer to its own bytes (no copy in or
 *   out), so a view of the wasm heap (where tfjs keeps tensors) is handed to BLAS as it
 *   is; a call costs about 0.2-0.5 us. Other routes were slower or heavier: ffi-rs
 *   (16 us per call), onnxruntime-node (no synchronous run, no training), wasm threads
 *   in Node (no gain), tfjs-node (downloads libtensorflow at install time).
 * - OpenBLAS picks its kernel by CPU (`openblas_get_corename()`); where Debian's build
 *   falls back to a generic SSE3 kernel it is 3-4x slower. The core name is reported,
 *   and `OPENBLAS_CORETYPE` (read by OpenBLAS itself at load) overrides it.
 *
 * The library is loaded once per thread that asks (koffi's handle is per thread; the
 * shared object and its thread pool are per process, so `setThreads` acts process-wide).
 * `DPIPE_OPENBLAS` names another library file (tests use a missing one for the fallback).
 * Where it is missing, `loadOpenBlas` returns the reason instead of throwing: callers
 * fall back to the wasm kernels (train/backend.ts prints one line that says how to install it).
 */
import { createRequire } from "node:module"

/** `CblasRowMajor`, `CblasNoTrans`, `CblasTrans` of cblas.h. */
const ROW_MAJOR = 101
const NO_TRANS = 111
const TRANS = 112

/** The OpenBLAS shared object of Debian's `libopenblas0-pthread` (and most distributions). */
export const OPENBLAS_SONAME = "libopenblas.so.0"
/** What to run when it is missing. */
export const OPENBLAS_INSTALL_HINT = "apt-get install -y libopenblas0-pthread"

/**
 * Row-major single-precision BLAS on Float32Arrays (any byteOffset: subarrays and views of
 * a wasm heap are passed as pointers to their first element).
 */
export interface OpenBlas {
  /** OpenBLAS's kernel family for this CPU (`openblas_get_corename`), e.g. "Haswell", "SkylakeX". */
  readonly corename: string
  /** Library build and threading (`openblas_get_config`). */
  readonly config: string
  /**
   * C = alpha op(A) op(B) + beta C, row-major, with leading dimensions (row strides) lda, ldb, ldc.
   * op(A) is [m, k], op(B) is [k, n], C is [m, n].
   */
  sgemm(
    transA: boolean,
    transB: boolean,
    m: number,
    n: number,
    k: number,
    alpha: number,
    a: Float32Array,
    lda: number,
    b: Float32Array,
    ldb: number,
    beta: number,
    c: Float32Array,
    ldc: number
  ): void
  /** sum_j x[j * incx] y[j * incy] over n entries (float32 accumulation inside OpenBLAS). */
  sdot(n: number, x: Float32Array, incx: number, y: Float32Array, incy: number): number
  /** y = alpha op(A) x + beta y, A row-major [m, n] with row stride lda. */
  sgemv(transA: boolean, m: number, n: number, alpha: number, a: Float32Array, lda: number, x: Float32Array, beta: number, y: Float32Array): void
  /** Threads OpenBLAS uses per call (process-wide). */
  setThreads(n: number): void
  threads(): number
}

/** Why OpenBLAS could not be loaded: the library is missing or does not have the symbols. */
export interface OpenBlasMissing {
  readonly missing: true
  readonly reason: string
}

type Sgemm = (o: number, ta: number, tb: number, m: number, n: number, k: number, al: number, a: Float32Array, lda: number, b: Float32Array, ldb: number, be: number, c: Float32Array, ldc: number) => void
type Sdot = (n: number, x: Float32Array, incx: number, y: Float32Array, incy: number) => number
type Sgemv = (o: number, t: number, m: number, n: number, al: number, a: Float32Array, lda: number, x: Float32Array, incx: number, be: number, y: Float32Array, incy: number) => void

/** The parts of koffi used here, typed (koffi's own declarations type calls loosely). */
interface KoffiLike {
  load(path: string): { func(definition: string): (...args: ReadonlyArray<unknown>) => unknown }
}

let cached: OpenBlas | OpenBlasMissing | undefined

/**
 * Loads OpenBLAS in this thread (memoised): the library named by `DPIPE_OPENBLAS` (a path
 * or soname, for an OpenBLAS built elsewhere) or `libopenblas.so.0`. An explicit `soname`
 * is loaded afresh (tests).
 */
export const loadOpenBlas = (soname?: string): OpenBlas | OpenBlasMissing => {
  if (soname !== undefined) return loadUncached(soname)
  cached ??= loadUncached(process.env["DPIPE_OPENBLAS"] ?? OPENBLAS_SONAME)
  return cached
}

export const isOpenBlas = (r: OpenBlas | OpenBlasMissing): r is OpenBlas => !("missing" in r)

const loadUncached = (soname: string): OpenBlas | OpenBlasMissing => {
  let koffi: KoffiLike
  try {
    koffi = createRequire(import.meta.url)("koffi") as KoffiLike
  } catch (e) {
    return { missing: true, reason: `the koffi package cannot be loaded (${firstLine(e)}); run pnpm install` }
  }
  try {
    const lib = koffi.load(soname)
    const sgemm = lib.func(
      "void cblas_sgemm(int order, int ta, int tb, int m, int n, int k, float alpha, float *a, int lda, float *b, int ldb, float beta, float *c, int ldc)"
    ) as Sgemm
    const sdot = lib.func("float cblas_sdot(int n, float *x, int incx, float *y, int incy)") as Sdot
    const sgemv = lib.func("void cblas_sgemv(int order, int t, int m, int n, float alpha, float *a, int lda, float *x, int incx, float beta, float *y, int incy)") as Sgemv
    const corename = lib.func("const char *openblas_get_corename()") as () => string
    const config = lib.func("const char *openblas_get_config()") as () => string
    const setThreads = lib.func("void openblas_set_num_threads(int n)") as (n: number) => void
    const getThreads = lib.func("int openblas_get_num_threads()") as () => number
    return {
      corename: corename(),
      config: config(),
      sgemm: (transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) => {
        if (m === 0 || n === 0) return
        if (k === 0) {
          // empty inner dimension: C = beta C (OpenBLAS rejects lda = 0)
          for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) c[i * ldc + j] = beta === 0 ? 0 : beta * (c[i * ldc + j] as number)
          return
        }
        sgemm(ROW_MAJOR, transA ? TRANS : NO_TRANS, transB ? TRANS : NO_TRANS, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
      },
      sdot: (n, x, incx, y, incy) => (n === 0 ? 0 : sdot(n, x, incx, y, incy)),
      sgemv: (transA, m, n, alpha, a, lda, x, beta, y) => {
        if (m === 0 || n === 0) return
        sgemv(ROW_MAJOR, transA ? TRANS : NO_TRANS, m, n, alpha, a, lda, x, 1, beta, y, 1)
      },
      setThreads: (n) => setThreads(Math.max(1, Math.floor(n))),
      threads: () => getThreads()
    }
  } catch (e) {
    return { missing: true, reason: `${soname} cannot be loaded (${firstLine(e)})` }
  }
}

const firstLine = (e: unknown): string => (e instanceof Error ? e.message : String(e)).split("\n")[0] ?? ""
