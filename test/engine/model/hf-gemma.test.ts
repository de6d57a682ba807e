/**
 * The Hugging Face Gemma mapping (engine/model/hf-gemma.ts) and the safetensors codec:
 * byte layout, round trips, and an independent PyTorch reader of modeling_gemma.py
 * agreeing with dpipe's forward on models whose every parameter matters.
 */
import { describe, expect, it } from "vitest"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Schema } from "effect"
import { GemmaModel, disposeWeights, initParams, modelPresets, paramLayout, uploadWeights, type ModelConfig } from "@dpipe/engine/model/gemma"
import { HfGemmaConfig, fromHfGemmaTensors, hfGemmaConfig, modelConfigOfHf, toHfGemmaTensors } from "@dpipe/engine/model/hf-gemma"
import { decodeSafetensors, encodeSafetensors } from "@dpipe/engine/model/safetensors"
import { initBackend } from "@dpipe/engine/train/backend"
import { readWithTorch } from "./torch-reader.ts"

/** Weights large enough that attention is sharp and every norm weight shifts its output. */
const strongParams = (cfg: ModelConfig): Float32Array => {
  const flat = initParams(cfg, 7)
  for (const s of paramLayout(cfg)) {
    for (let j = 0; j < s.size; j++) {
      if (s.kind === "matrix") flat[s.offset + j] = (flat[s.offset + j] as number) * 15
      if (s.kind === "scale") flat[s.offset + j] = 0.5 * Math.sin(3 * j + s.offset)
    }
  }
  return flat
}

const exportDir = (cfg: ModelConfig, flat: Float32Array): string => {
  const dir = mkdtempSync(join(tmpdir(), "dpipe-hf-gemma-"))
  writeFileSync(join(dir, "config.json"), JSON.stringify(Schema.encodeSync(HfGemmaConfig)(hfGemmaConfig(cfg, { padId: 0, eosId: 1 }))))
  writeFileSync(join(dir, "model.safetensors"), encodeSafetensors(toHfGemmaTensors(cfg, flat), { format: "pt" }))
  return dir
}

describe("safetensors", () => {
  it("writes the 8-byte length, a space-padded JSON header and little-endian float32 data", () => {
    const bytes = encodeSafetensors([{ name: "a", shape: [2], data: Float32Array.from([1.5, -2]) }, { name: "b", shape: [1, 1], data: Float32Array.from([3]) }], { format: "pt" })
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true))
    expect(n % 8).toBe(0)
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)))
    expect(header).toEqual({
      __metadata__: { format: "pt" },
      a: { dtype: "F32", shape: [2], data_offsets: [0, 8] },
      b: { dtype: "F32", shape: [1, 1], data_offsets: [8, 12] }
    })
    expect(bytes.length).toBe(8 + n + 12)
    const data = new DataView(bytes.buffer, 8 + n)
    expect([data.getFloat32(0, true), data.getFloat32(4, true), data.getFloat32(8, true)]).toEqual([1.5, -2, 3])
    expect(decodeSafetensors(bytes)).toEqual({ metadata: { format: "pt" }, tensors: [{ name: "a", shape: [2], data: Float32Array.from([1.5, -2]) }, { name: "b", shape: [1, 1], data: Float32Array.from([3]) }] })
  })

  it("refuses malformed files and tensors", () => {
    expect(() => encodeSafetensors([{ name: "a", shape: [3], data: new Float32Array(2) }])).toThrow(/holds 3 values but its data has 2/)
    expect(() => encodeSafetensors([{ name: "a", shape: [1], data: new Float32Array(1) }, { name: "a", shape: [1], data: new Float32Array(1) }])).toThrow(/given twice/)
    const good = encodeSafetensors([{ name: "a", shape: [2], data: new Float32Array(2) }])
    expect(() => decodeSafetensors(good.subarray(0, good.length - 1))).toThrow(/past the data/)
    const longer = new Uint8Array(good.length + 4)
    longer.set(good)
    expect(() => decodeSafetensors(longer)).toThrow(/cover 8 of the 12 data bytes/)
  })
})

describe("Hugging Face Gemma mapping", () => {
  const gqa: ModelConfig = { ...modelPresets.micro, heads: 4, kvHeads: 2, tiedEmbeddings: false }

  it("names and shapes are transformers' GemmaForCausalLM's; tied models have no lm_head", () => {
    const tied = toHfGemmaTensors(modelPresets.micro, initParams(modelPresets.micro, 1))
    const names = tied.map((t) => t.name)
    expect(names).toContain("model.embed_tokens.weight")
    expect(names).toContain("model.norm.weight")
    expect(names).not.toContain("lm_head.weight")
    const untied = new Map(toHfGemmaTensors(gqa, initParams(gqa, 1)).map((t) => [t.name, t.shape] as const))
    const { dModel: d, headDim: hd, ffnDim: f, vocabSize: V } = gqa
    expect(Object.fromEntries(untied)).toEqual({
      "model.embed_tokens.weight": [V, d],
      ...Object.fromEntries(
        [0, 1].flatMap((l) => [
          [`model.layers.${l}.input_layernorm.weight`, [d]],
          [`model.layers.${l}.self_attn.q_proj.weight`, [4 * hd, d]],
          [`model.layers.${l}.self_attn.k_proj.weight`, [2 * hd, d]],
          [`model.layers.${l}.self_attn.v_proj.weight`, [2 * hd, d]],
          [`model.layers.${l}.self_attn.o_proj.weight`, [d, 4 * hd]],
          [`model.layers.${l}.post_attention_layernorm.weight`, [d]],
          [`model.layers.${l}.mlp.gate_proj.weight`, [f, d]],
          [`model.layers.${l}.mlp.up_proj.weight`, [f, d]],
          [`model.layers.${l}.mlp.down_proj.weight`, [d, f]]
        ])
      ),
      "model.norm.weight": [d],
      "lm_head.weight": [V, d]
    })
  })

  it("linear weights are dpipe's [in, out] blocks transposed to [out, in]", () => {
    const flat = initParams(gqa, 3)
    const byName = new Map(toHfGemmaTensors(gqa, flat).map((t) => [t.name, t] as const))
    const qkv = paramLayout(gqa).find((s) => s.name === "layers.0.qkv")!
    const cols = qkv.shape[1]!
    const at = (i: number, j: number) => flat[qkv.offset + i * cols + j]
    const k = byName.get("model.layers.0.self_attn.k_proj.weight")!
    // k_proj[out = 5, in = 3] is qkv[in = 3, column 4 hd + 5]
    expect(k.data[5 * gqa.dModel + 3]).toBe(at(3, 4 * gqa.headDim + 5))
    const unembed = paramLayout(gqa).find((s) => s.name === "unembed")!
    expect(byName.get("lm_head.weight")!.data[7 * gqa.dModel + 2]).toBe(flat[unembed.offset + 2 * gqa.vocabSize + 7])
  })

  it("round-trips through config.json and model.safetensors, tied and untied", () => {
    for (const cfg of [modelPresets.micro, gqa]) {
      const flat = initParams(cfg, 5)
      const config = Schema.decodeUnknownSync(HfGemmaConfig)(JSON.parse(JSON.stringify(hfGemmaConfig(cfg, { padId: 0, eosId: 1 }))))
      expect(config.tie_word_embeddings).toBe(cfg.tiedEmbeddings)
      expect(modelConfigOfHf(config)).toEqual(cfg)
      const file = decodeSafetensors(encodeSafetensors(toHfGemmaTensors(cfg, flat)))
      expect(fromHfGemmaTensors(cfg, file.tensors)).toEqual(flat)
    }
    const tiedFlat = initParams(modelPresets.micro, 5)
    expect(() => fromHfGemmaTensors(modelPresets.micro, toHfGemmaTensors(gqa, initParams(gqa, 5)))).toThrow(/shape|use/)
    expect(() => fromHfGemmaTensors(modelPresets.micro, toHfGemmaTensors(modelPresets.micro, tiedFlat).slice(1))).toThrow(/model.embed_tokens.weight" is missing/)
  })

  it("an independent PyTorch reader of modeling_gemma.py gets dpipe's per-token losses (untied, grouped-query), and tells an interleaved RoPE apart", async () => {
    await initBackend("cpu")
    const cfg: ModelConfig = { ...gqa, contextLength: 24 }
    const flat = strongParams(cfg)
    const B = 3
    const S = 25
    // Token ids 1..V-1: no <pad> (id 0) targets, so every position is scored by both.
    const seqs = new Int32Array(B * S).map((_, i) => 1 + ((i * 11 + 5 + ((i * i) % 7)) % (cfg.vocabSize - 1)))
    const model = new GemmaModel(cfg)
    const weights = uploadWeights(cfg, flat)
    const ours = model.tokenLosses(weights, seqs, B, S)
    disposeWeights(weights)
    model.dispose()
    const dir = exportDir(cfg, flat)
    const torch = readWithTorch(dir, seqs, B, S)
    const maxDiff = Math.max(...ours.map((l, i) => Math.abs(l - (torch.tokenLosses[i] as number))))
    expect(maxDiff).toBeLessThan(1e-4)
    const mean = ours.reduce((a, b) => a + b, 0) / ours.length
    expect(Math.abs(torch.meanLoss - mean)).toBeLessThan(1e-5)
    // Sharp attention: reading the rotary pairs as interleaved changes the losses a lot.
    const wrong = readWithTorch(dir, seqs, B, S, "interleaved")
    expect(Math.max(...ours.map((l, i) => Math.abs(l - (wrong.tokenLosses[i] as number))))).toBeGreaterThan(1e-2)
  })
})
