/**
 * The forward-only methods the evaluation stages add to GemmaModel: per-token losses
 * agree with `losses()` (their per-row mean), and next-token logits agree with the
 * per-token losses (-log softmax(logits)[y] == tokenLoss), including under right padding.
 */
import { describe, expect, it } from "vitest"
import { GemmaModel, disposeWeights, initParams, modelPresets, paramLayout, uploadWeights } from "@dpipe/engine/model/gemma"
import type { ModelConfig } from "@dpipe/engine/model/gemma"
import { initBackend } from "@dpipe/engine/train/backend"

/** Initial weights made less uniform, so that logits differ clearly between tokens. */
const params = (cfg: ModelConfig): Float32Array => {
  const flat = initParams(cfg, 3)
  for (const s of paramLayout(cfg)) if (s.kind === "matrix") for (let j = 0; j < s.size; j++) flat[s.offset + j] = (flat[s.offset + j] as number) * 10
  return flat
}

const logSoftmaxAt = (logits: Float32Array, offset: number, V: number, y: number): number => {
  let mx = -Infinity
  for (let v = 0; v < V; v++) mx = Math.max(mx, logits[offset + v] as number)
  let s = 0
  for (let v = 0; v < V; v++) s += Math.exp((logits[offset + v] as number) - mx)
  return (logits[offset + y] as number) - mx - Math.log(s)
}

describe("GemmaModel forward-only methods", () => {
  for (const tied of [true, false]) {
    it(`tokenLosses agree with losses and with nextTokenLogits (wasm, ${tied ? "tied" : "untied"})`, async () => {
      await initBackend("wasm")
      const cfg: ModelConfig = { ...modelPresets.micro, tiedEmbeddings: tied }
      const model = new GemmaModel(cfg)
      const w = uploadWeights(cfg, params(cfg))
      try {
        const B = 3
        const S = 10
        const T = S - 1
        const seqs = new Int32Array(B * S).map((_, i) => (i * 11 + 5) % cfg.vocabSize)
        const per = model.tokenLosses(w, seqs, B, S)
        const mean = model.losses(w, seqs, B, S)
        expect(per.length).toBe(B * T)
        for (let b = 0; b < B; b++) {
          let s = 0
          for (let t = 0; t < T; t++) s += per[b * T + t] as number
          expect(s / T).toBeCloseTo(mean[b] as number, 5)
        }
        // Logits after every position, with the rest of the row replaced by padding (0s):
        // causal attention means the padding cannot change them.
        const inputs = new Int32Array(B * T)
        for (let b = 0; b < B; b++) inputs.set(seqs.subarray(b * S, b * S + T), b * T)
        for (let p = 0; p < T; p++) {
          const padded = inputs.slice()
          for (let b = 0; b < B; b++) padded.fill(0, b * T + p + 1, (b + 1) * T)
          const logits = model.nextTokenLogits(w, padded, B, T, new Int32Array(B).fill(p))
          for (let b = 0; b < B; b++) {
            const y = seqs[b * S + p + 1] as number
            expect(-logSoftmaxAt(logits, b * cfg.vocabSize, cfg.vocabSize, y)).toBeCloseTo(per[b * T + p] as number, 4)
          }
        }
        // Default position: the last one; a shorter input gives the same logits as the padded one.
        const short = model.nextTokenLogits(w, inputs.subarray(0, 4), 1, 4)
        const long = model.nextTokenLogits(w, inputs.subarray(0, T), 1, T, Int32Array.of(3))
        for (let v = 0; v < cfg.vocabSize; v++) expect(short[v]).toBeCloseTo(long[v] as number, 4)
        expect(() => model.nextTokenLogits(w, inputs, B, T, new Int32Array(B).fill(T))).toThrow(/outside/)
      } finally {
        disposeWeights(w)
        model.dispose()
      }
    })
  }
})
