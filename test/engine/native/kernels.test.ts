// The native path: every OpenBLAS-backed kernel against the stock wasm kernel and a float64
// reference, on random shapes (1-row, 1-column, transposed, batched, broadcast, views,
// heap growth), the pinned wasm internals, and the fallback when OpenBLAS is missing.
import { createRequire } from "node:module"
import { readFileSync } from "node:fs"
import { describe, expect, it } from "vitest"
import { tf } from "@dpipe/engine/tf"
import { initBackend } from "@dpipe/engine/train/backend"
import { isOpenBlas, loadOpenBlas } from "@dpipe/engine/native/openblas"
import type { OpenBlas } from "@dpipe/engine/native/openblas"
import { WASM_BACKEND_VERSION, checkWasmInternals, nativeKernelsActive } from "@dpipe/engine/native/wasm-kernels"

const EPS32 = 2 ** -24

/** Deterministic values in [-1, 1). */
const rand = (n: number, seed: number): Float32Array => {
  let s = seed >>> 0 || 1
  const out = new Float32Array(n)
  for (let i = 0; i < n; i++) {
    s ^= s << 13
    s ^= s >>> 17
    s ^= s << 5
    out[i] = ((s >>> 0) / 2 ** 32) * 2 - 1
  }
  return out
}

/**
 * float64 reference of op(A) op(B) over a (broadcast) batch, and |op(A)| |op(B)|: a float32
 * product of inner length k differs from the exact one by at most about k u |A||B| (Higham 2002, Sec. 3.5).
 */
const reference = (a: Float32Array, aShape: ReadonlyArray<number>, b: Float32Array, bShape: ReadonlyArray<number>, ta: boolean, tb: boolean) => {
  const ra = aShape.length
  const rb = bShape.length
  const m = (ta ? aShape[ra - 1] : aShape[ra - 2]) as number
  const k = (ta ? aShape[ra - 2] : aShape[ra - 1]) as number
  const n = (tb ? bShape[rb - 2] : bShape[rb - 1]) as number
  const batchA = aShape.slice(0, -2).reduce((x, y) => x * y, 1)
  const batchB = bShape.slice(0, -2).reduce((x, y) => x * y, 1)
  const batch = Math.max(batchA, batchB)
  const exact = new Float64Array(batch * m * n)
  const abs = new Float64Array(batch * m * n)
  for (let p = 0; p < batch; p++) {
    const oa = (batchA === 1 ? 0 : p) * m * k
    const ob = (batchB === 1 ? 0 : p) * k * n
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let s = 0
        let t = 0
        for (let l = 0; l < k; l++) {
          const x = a[oa + (ta ? l * m + i : i * k + l)] as number
          const y = b[ob + (tb ? j * k + l : l * n + j)] as number
          s += x * y
          t += Math.abs(x * y)
        }
        exact[(p * m + i) * n + j] = s
        abs[(p * m + i) * n + j] = t
      }
  }
  return { exact, abs, k }
}

const expectClose = (got: Float32Array, ref: { exact: Float64Array; abs: Float64Array; k: number }, what: string) => {
  expect(got.length, what).toBe(ref.exact.length)
  for (let i = 0; i < got.length; i++) {
    const bound = 2 * (ref.k + 2) * EPS32 * (ref.abs[i] as number) + 1e-30
    const err = Math.abs((got[i] as number) - (ref.exact[i] as number))
    if (!(err <= bound)) expect.fail(`${what}: entry ${i} is ${got[i]}, exact ${ref.exact[i]}, error ${err} above the float32 bound ${bound}`)
  }
}

/** Runs f on the stock wasm kernels and on the native ones, with the same inputs. */
const onBoth = async (f: () => Float32Array): Promise<{ stock: Float32Array; native: Float32Array }> => {
  expect(await initBackend("wasm")).toBe("wasm")
  expect(nativeKernelsActive()).toBe(false)
  const stock = f()
  expect(await initBackend("native")).toBe("native")
  expect(nativeKernelsActive()).toBe(true)
  const native = f()
  return { stock, native }
}

interface Case {
  readonly name: string
  readonly a: ReadonlyArray<number>
  readonly b: ReadonlyArray<number>
  readonly ta: boolean
  readonly tb: boolean
}

const cases: ReadonlyArray<Case> = [
  { name: "square", a: [17, 17], b: [17, 17], ta: false, tb: false },
  { name: "1-row", a: [1, 33], b: [33, 9], ta: false, tb: false },
  { name: "1-column", a: [12, 5], b: [5, 1], ta: false, tb: false },
  { name: "inner 1", a: [7, 1], b: [1, 6], ta: false, tb: false },
  { name: "A transposed", a: [31, 20], b: [31, 13], ta: true, tb: false },
  { name: "B transposed", a: [20, 31], b: [13, 31], ta: false, tb: true },
  { name: "both transposed", a: [31, 20], b: [13, 31], ta: true, tb: true },
  { name: "batched", a: [3, 11, 8], b: [3, 8, 5], ta: false, tb: false },
  { name: "batched, transposed", a: [4, 8, 11], b: [4, 5, 8], ta: true, tb: true },
  { name: "batched x shared", a: [6, 9, 16], b: [16, 10], ta: false, tb: false },
  { name: "batched (A^T) x shared", a: [6, 16, 9], b: [16, 10], ta: true, tb: false },
  { name: "shared x batched", a: [9, 16], b: [5, 16, 10], ta: false, tb: false },
  { name: "broadcast 1 vs 4", a: [1, 7, 6], b: [4, 6, 3], ta: false, tb: false },
  { name: "rank 4", a: [2, 3, 5, 4], b: [2, 3, 4, 6], ta: false, tb: false },
  { name: "1-row batched, B transposed", a: [8, 1, 24], b: [8, 3, 24], ta: false, tb: true }
]

describe("native kernels (OpenBLAS on the wasm heap)", () => {
  it("OpenBLAS loads and reports its core; tfjs-backend-wasm is the pinned version with the expected internals", async () => {
    const blas = loadOpenBlas()
    if (!isOpenBlas(blas)) return expect.fail(`OpenBLAS must be installed for these tests (${blas.reason})`)
    expect(blas.corename.length).toBeGreaterThan(0)
    const require = createRequire(import.meta.url)
    const pkg = JSON.parse(readFileSync(require.resolve("@tensorflow/tfjs-backend-wasm/package.json"), "utf8")) as { version: string }
    expect(pkg.version).toBe(WASM_BACKEND_VERSION)
    const engine = JSON.parse(readFileSync(new URL("../../../packages/engine/package.json", import.meta.url), "utf8")) as { dependencies: Record<string, string> }
    expect(engine.dependencies["@tensorflow/tfjs-backend-wasm"]).toBe(WASM_BACKEND_VERSION)
    await initBackend("wasm")
    expect(() => checkWasmInternals(pkg.version)).not.toThrow()
    expect(() => checkWasmInternals("4.23.0")).toThrow(/pin it back or port/)
  })

  for (const c of cases) {
    it(`BatchMatMul ${c.name}: native and stock within float32 error of the exact product`, async () => {
      const av = rand(c.a.reduce((x, y) => x * y, 1), c.a.length * 31 + c.b.length)
      const bv = rand(c.b.reduce((x, y) => x * y, 1), c.b.reduce((x, y) => x + y, 7))
      const { stock, native } = await onBoth(() =>
        tf.tidy(() => tf.matMul(tf.tensor(av, [...c.a]), tf.tensor(bv, [...c.b]), c.ta, c.tb).dataSync() as Float32Array).slice()
      )
      const ref = reference(av, c.a, bv, c.b, c.ta, c.tb)
      expectClose(stock, ref, `stock ${c.name}`)
      expectClose(native, ref, `native ${c.name}`)
    })
  }

  it("operands that are views of other tensors (slices, transposes, reshapes) give the stock results", async () => {
    const x = rand(6 * 10 * 12, 5)
    const y = rand(12 * 9, 6)
    const { stock, native } = await onBoth(() =>
      tf.tidy(() => {
        const X = tf.tensor3d(x, [6, 10, 12])
        const sliced = tf.slice(X, [1, 2, 0], [4, 7, 12]) // [4, 7, 12], an offset region
        const Y = tf.transpose(tf.tensor2d(y, [12, 9])) // [9, 12]
        const r1 = tf.matMul(sliced, Y, false, true) // [4, 7, 9]
        const r2 = tf.matMul(tf.reshape(sliced, [28, 12]), tf.reshape(Y, [12, 9])) // reshape of a transpose: reinterpreted
        return tf.concat([tf.reshape(r1, [-1]), tf.reshape(r2, [-1])]).dataSync() as Float32Array
      }).slice()
    )
    for (let i = 0; i < stock.length; i++) expect(Math.abs((native[i] as number) - (stock[i] as number))).toBeLessThan(1e-5)
  })

  it("the heap growing inside a product (output allocation) and between products keeps results right", async () => {
    const av = rand(300 * 64, 9)
    const bv = rand(64 * 4096, 10)
    await initBackend("native")
    const b = tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }
    const before = b.wasm.HEAPU8.buffer.byteLength
    const A = tf.tensor2d(av, [300, 64])
    const Bt = tf.tensor2d(bv, [64, 4096])
    // a 300 x 4096 output plus a 64 MiB allocation in between: the heap must grow at least once
    const big = tf.zeros([16 * 1024 * 1024])
    const C = tf.matMul(A, Bt)
    const C2 = tf.matMul(A, tf.transpose(Bt), false, true)
    const after = b.wasm.HEAPU8.buffer.byteLength
    expect(after).toBeGreaterThan(before)
    const got = (C.dataSync() as Float32Array).slice()
    const got2 = (C2.dataSync() as Float32Array).slice()
    tf.dispose([A, Bt, big, C, C2])
    const ref = reference(av, [300, 64], bv, [64, 4096], false, false)
    expectClose(got, ref, "after growth")
    expectClose(got2, ref, "after growth, B transposed")
  })

  for (const activation of ["linear", "relu", "elu"] as const) {
    for (const withBias of [false, true]) {
      it(`_FusedMatMul (${activation}${withBias ? ", bias" : ""}, B transposed, batched A)`, async () => {
        const av = rand(5 * 7 * 11, 21)
        const bv = rand(6 * 11, 22)
        const biasv = rand(6, 23)
        const { stock, native } = await onBoth(() =>
          tf.tidy(() => {
            const r = tf.fused.matMul({
              a: tf.tensor3d(av, [5, 7, 11]),
              b: tf.tensor2d(bv, [6, 11]),
              transposeB: true,
              activation,
              ...(withBias ? { bias: tf.tensor1d(biasv) } : {})
            })
            return r.dataSync() as Float32Array
          }).slice()
        )
        if (activation === "elu") {
          // not handled natively: delegated to the stock kernel, so equal to it
          expect([...native]).toEqual([...stock])
          return
        }
        // exact reference (the stock wasm kernel adds the bias at wrong positions when B
        // is transposed in 4.22; the cpu backend and this path agree with the reference)
        const ref = reference(av, [5, 7, 11], bv, [6, 11], false, true)
        const exact = ref.exact.map((x, i) => {
          const y = x + (withBias ? (biasv[i % 6] as number) : 0)
          return activation === "relu" ? Math.max(0, y) : y
        })
        const abs = ref.abs.map((x, i) => x + (withBias ? Math.abs(biasv[i % 6] as number) : 0))
        expectClose(native, { exact, abs, k: ref.k + 1 }, `native fused ${activation}`)
      })
    }
  }
})

describe("OpenBLAS binding on plain Float32Arrays", () => {
  const blas = (): OpenBlas => {
    const b = loadOpenBlas()
    if (!isOpenBlas(b)) throw new Error(b.reason)
    return b
  }

  it("sgemm on strided sub-views (leading dimensions larger than the rows, offset starts) writes only its block", () => {
    const o = blas()
    const m = 5
    const n = 4
    const k = 3
    const lda = 7
    const ldb = 6
    const ldc = 9
    const A = rand(2 + m * lda, 31)
    const Bm = rand(1 + k * ldb, 32)
    const C = rand(3 + m * ldc, 33)
    const C0 = C.slice()
    o.sgemm(false, false, m, n, k, 1.5, A.subarray(2), lda, Bm.subarray(1), ldb, 0.5, C.subarray(3), ldc)
    for (let idx = 0; idx < C.length; idx++) {
      const r = Math.floor((idx - 3) / ldc)
      const col = (idx - 3) % ldc
      if (idx < 3 || col >= n || r >= m) {
        expect(C[idx], `untouched entry ${idx}`).toBe(C0[idx])
        continue
      }
      let s = 0
      for (let l = 0; l < k; l++) s += (A[2 + r * lda + l] as number) * (Bm[1 + l * ldb + col] as number)
      expect(Math.abs((C[idx] as number) - (1.5 * s + 0.5 * (C0[idx] as number)))).toBeLessThan(1e-5)
    }
  })

  it("sdot and sgemv agree with float64 sums; an empty inner dimension scales C by beta", () => {
    const o = blas()
    const x = rand(100, 41)
    const y = rand(100, 42)
    let d = 0
    for (let i = 0; i < 100; i++) d += (x[i] as number) * (y[i] as number)
    expect(Math.abs(o.sdot(100, x, 1, y, 1) - d)).toBeLessThan(1e-4)
    let d2 = 0
    for (let i = 0; i < 50; i++) d2 += (x[2 * i] as number) * (y[2 * i] as number)
    expect(Math.abs(o.sdot(50, x, 2, y, 2) - d2)).toBeLessThan(1e-4)
    const A = rand(6 * 10, 43)
    const v = rand(6, 44)
    const out = new Float32Array(10)
    o.sgemv(true, 6, 10, 1, A, 10, v, 0, out)
    for (let j = 0; j < 10; j++) {
      let s = 0
      for (let i = 0; i < 6; i++) s += (A[i * 10 + j] as number) * (v[i] as number)
      expect(Math.abs((out[j] as number) - s)).toBeLessThan(1e-5)
    }
    const C = Float32Array.of(1, 2, 3, 4)
    o.sgemm(false, false, 2, 2, 0, 1, new Float32Array(0), 1, new Float32Array(0), 2, 0.5, C, 2)
    expect([...C]).toEqual([0.5, 1, 1.5, 2])
  })

  it("OPENBLAS_CORETYPE overrides the kernel OpenBLAS picks, and the core name reports it", async () => {
    const { spawnSync } = await import("node:child_process")
    const script = 'import { loadOpenBlas, isOpenBlas } from "@dpipe/engine/native/openblas"\nconst b = loadOpenBlas()\nconsole.log(isOpenBlas(b) ? b.corename : "missing")'
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], {
      cwd: new URL("../../../", import.meta.url).pathname,
      env: { ...process.env, OPENBLAS_CORETYPE: "Haswell" },
      encoding: "utf8"
    })
    expect(r.stdout.trim(), r.stderr).toBe("Haswell")
  })

  it("a missing library is reported with a reason, not thrown", () => {
    const r = loadOpenBlas("libopenblas-that-does-not-exist.so.0")
    expect(isOpenBlas(r)).toBe(false)
    if (!isOpenBlas(r)) expect(r.reason).toMatch(/cannot be loaded/)
  })
})

describe("fallback without OpenBLAS", () => {
  it("backend native prints one line saying how to install OpenBLAS and runs on wasm; the result equals wasm's", async () => {
    const { spawnSync } = await import("node:child_process")
    const script = [
      'import { initBackend } from "@dpipe/engine/train/backend"',
      'import { GemmaModel, initParams, modelPresets, uploadWeights } from "@dpipe/engine/model/gemma"',
      'import { microBatchGradient } from "@dpipe/engine/dp/clip"',
      "const name = await initBackend('native')",
      "const cfg = modelPresets.micro",
      "const m = new GemmaModel(cfg)",
      "const seqs = new Int32Array(2 * 8).map((_, i) => i % cfg.vocabSize)",
      "const r = microBatchGradient(m, uploadWeights(cfg, initParams(cfg)), seqs, 2, 8, 1)",
      "console.log(JSON.stringify({ name, loss: r.losses[0] }))"
    ].join("\n")
    const node = process.execPath
    const run = (env: Record<string, string>) =>
      spawnSync(node, ["--input-type=module", "-e", script], { cwd: new URL("../../../", import.meta.url).pathname, env: { ...process.env, ...env }, encoding: "utf8" })
    const missing = run({ DPIPE_OPENBLAS: "/nonexistent/libopenblas.so.0" })
    expect(missing.status, missing.stderr).toBe(0)
    const out = JSON.parse(missing.stdout.trim().split("\n").at(-1) ?? "{}") as { name: string; loss: number }
    expect(out.name).toBe("wasm")
    const lines = missing.stderr.split("\n").filter((l) => l.includes("OpenBLAS"))
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(/apt-get install -y libopenblas0-pthread/)
    const present = run({})
    const out2 = JSON.parse(present.stdout.trim().split("\n").at(-1) ?? "{}") as { name: string; loss: number }
    expect(out2.name).toBe("native")
    expect(present.stderr).not.toMatch(/OpenBLAS is not available/)
    expect(Math.abs(out2.loss - out.loss)).toBeLessThan(1e-5)
  })
})
