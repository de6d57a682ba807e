import { describe, expect, it } from "vitest"
import { GemmaModel, computeEstimate, decodeModelConfig, disposeWeights, initParams, modelPresets, paramCount, paramLayout, uploadWeights } from "@dpipe/engine/model/gemma"
import type { ModelConfig } from "@dpipe/engine/model/gemma"
import { microBatchGradient } from "@dpipe/engine/dp/clip"
import { initBackend } from "@dpipe/engine/train/backend"

/** Weights scaled up so that every parameter group has a gradient well above float32 noise. */
const testParams = (cfg: ModelConfig): Float32Array => {
  const flat = initParams(cfg, 1)
  for (const s of paramLayout(cfg)) {
    for (let j = 0; j < s.size; j++) {
      if (s.kind === "matrix") flat[s.offset + j] = (flat[s.offset + j] as number) * 12
      if (s.kind === "scale") flat[s.offset + j] = 0.3 * Math.sin(j + s.offset)
    }
  }
  return flat
}

describe("gemma model", () => {
  it("presets decode; 1b has VaultGemma's ~1.04B parameters", () => {
    for (const p of Object.values(modelPresets)) expect(decodeModelConfig(p)).toEqual(p)
    const n = paramCount(modelPresets["1b"])
    expect(n).toBeGreaterThan(1.0e9)
    expect(n).toBeLessThan(1.1e9)
    const e = computeEstimate(modelPresets["1b"])
    expect(e.trainFlopsPerToken).toBeGreaterThan(6 * (n - 256000 * 1152))
    expect(() => decodeModelConfig({ ...modelPresets.micro, kvHeads: 3 })).toThrow()
  })

  it("the native path (BLAS kernels, batched attention layout) gives the wasm path's gradient and losses", async () => {
    const cfg = { ...modelPresets.micro, heads: 4, kvHeads: 2 }
    const flat = testParams(cfg)
    const B = 4
    const S = 13
    const seqs = new Int32Array(B * S).map((_, i) => (i * 5 + 1) % cfg.vocabSize)
    const run = async (backend: "native" | "wasm") => {
      await initBackend(backend)
      const model = new GemmaModel(cfg)
      const w = uploadWeights(cfg, flat)
      const r = microBatchGradient(model, w, seqs, B, S, null)
      disposeWeights(w)
      model.dispose()
      return r
    }
    const wasm = await run("wasm")
    const native = await run("native")
    let num = 0
    let den = 0
    for (let j = 0; j < wasm.sum.length; j++) {
      num += ((native.sum[j] as number) - (wasm.sum[j] as number)) ** 2
      den += (wasm.sum[j] as number) ** 2
    }
    expect(Math.sqrt(num / den)).toBeLessThan(1e-5)
    for (let i = 0; i < B; i++) expect(Math.abs((native.losses[i] as number) - (wasm.losses[i] as number))).toBeLessThan(1e-5)
  })

  for (const backend of ["native", "cpu", "wasm"] as const) {
    for (const tied of [true, false]) {
      it(`hand-written backward matches central finite differences (${backend}, ${tied ? "tied" : "untied"})`, async () => {
        await initBackend(backend)
        const cfg = { ...modelPresets.micro, tiedEmbeddings: tied }
        const model = new GemmaModel(cfg)
        const flat = testParams(cfg)
        const B = 3
        const S = 9
        const seqs = new Int32Array(B * S).map((_, i) => (i * 7 + 3) % cfg.vocabSize)
        seqs[2] = seqs[5] as number
        const w = uploadWeights(cfg, flat)
        const grad = microBatchGradient(model, w, seqs, B, S, null).sum
        disposeWeights(w)
        const lossAt = (f: Float32Array) => {
          const ww = uploadWeights(cfg, f)
          const l = model.losses(ww, seqs, B, S)
          disposeWeights(ww)
          return l.reduce((a, b) => a + b, 0)
        }
        const eps = 3e-3
        for (const s of paramLayout(cfg)) {
          const dir = new Float32Array(flat.length)
          let dot = 0
          for (let j = 0; j < s.size; j++) {
            dir[s.offset + j] = Math.sin(3.1 * j + 1)
            dot += (dir[s.offset + j] as number) * (grad[s.offset + j] as number)
          }
          const fd = (lossAt(flat.map((x, j) => x + eps * (dir[j] as number))) - lossAt(flat.map((x, j) => x - eps * (dir[j] as number)))) / (2 * eps)
          // float32 central differences: truncation + rounding allow ~1e-2 relative
          expect(Math.abs(dot - fd), `${s.name}: analytic ${dot} vs numeric ${fd}`).toBeLessThan(2e-2 * Math.abs(fd) + 2e-4)
        }
        model.dispose()
      })
    }
  }
})
