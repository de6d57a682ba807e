/**
 * `pipeline export --format hf` end to end: the vaultgemma-1b pipeline at the micro
 * scale, its DP model exported, and an independent PyTorch reader of transformers'
 * modeling_gemma.py (test/engine/model/hf_gemma_reader.py) scoring the same held-out
 * sequences as dpipe's evaluate stage, to the same loss. Plus the privacy rule (the
 * non-private baseline needs --private) and the config.json fields.
 */
import { beforeAll, describe, expect, it } from "vitest"
import { Effect } from "effect"
import { existsSync, readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { readParquetTable, runPipeline } from "@dpipe/runtime"
import { Sequences } from "@dpipe/stages/data-stages/tables"
import vaultgemma from "../../../pipelines/vaultgemma-1b.ts"
import { cli, tempStore } from "../../runtime/helpers.ts"
import { readWithTorch, torchPython } from "../../engine/model/torch-reader.ts"

let store = ""
let nodes: Record<string, { key?: string | undefined; outputs?: Record<string, { file: string }> | undefined }> = {}
const file = (node: string, output: string): string => join(store, "cache", nodes[node]!.key!, nodes[node]!.outputs![output]!.file)
const json = (path: string): Record<string, unknown> => JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>

beforeAll(async () => {
  torchPython() // fails here, with the install command, when PyTorch is missing
  store = tempStore()
  const summary = await Effect.runPromise(runPipeline(vaultgemma, { store, scale: "micro", runId: "m" }))
  expect(summary.record.status).toBe("succeeded")
  nodes = summary.record.nodes
}, 300_000)

/** The eval sequences evaluate scored: `n` spread evenly over the table (as evaluate.ts picks them). */
const scoredEvalSequences = async (n: number) => {
  const rows: Array<Int32Array> = []
  for await (const batch of readParquetTable(file("pack", "eval_sequences"), Sequences)) for (const r of batch) rows.push(r.tokens)
  const count = Math.min(n, rows.length)
  const S = rows[0]!.length
  const seqs = new Int32Array(count * S)
  for (let i = 0; i < count; i++) seqs.set(rows[count === rows.length ? i : Math.floor((i * rows.length) / count)]!, i * S)
  return { seqs, B: count, S }
}

describe("pipeline export --format hf", () => {
  it("dp-train: an independent PyTorch reader of the directory gets dpipe's held-out loss within 1e-4", async () => {
    const out = join(tempStore(), "vaultgemma-dp")
    const r = await cli(["export", "m", "--format", "hf", "--out", out, "--store", store])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/label dp/)
    expect(readdirSync(out).sort()).toEqual(["README.md", "config.json", "model.safetensors", "privacy.json", "tokenizer.json", "tokenizer_config.json"])

    const evaluation = json(file("evaluate", "evaluation")) as { sequences: number; models: { dp: { meanLoss: number; tokens: number } } }
    const { seqs, B, S } = await scoredEvalSequences(evaluation.sequences)
    const torch = readWithTorch(out, seqs, B, S)
    expect(torch.tokens).toBe(evaluation.models.dp.tokens)
    expect(Math.abs(torch.meanLoss - evaluation.models.dp.meanLoss)).toBeLessThan(1e-4)

    // The tokenizer is the run's, byte for byte; privacy.json carries the run's statement.
    expect(readFileSync(join(out, "tokenizer.json"))).toEqual(readFileSync(file("tokenizer", "tokenizer")))
    const privacy = json(join(out, "privacy.json"))
    const statement = json(file("privacy-statement", "statement"))
    expect(privacy["label"]).toBe("dp")
    expect(privacy["guarantee"]).toBe("differential-privacy")
    expect(privacy["statement"]).toEqual(statement)
    expect(privacy["summary"]).toBe(statement["text"])
    expect(readFileSync(join(out, "README.md"), "utf8")).toContain(`Privacy label: dp.** ${String(statement["text"])}`)
  }, 120_000)

  it("config.json has Gemma's architecture fields, from the trained model's config", async () => {
    const out = join(tempStore(), "cfg")
    const r = await cli(["export", "m", "--stage", "dp-train", "--format", "hf", "--out", out, "--store", store])
    expect(r.code, r.stderr).toBe(0)
    const model = json(file("dp-train", "model"))
    const config = json(join(out, "config.json"))
    expect(config).toMatchObject({
      architectures: ["GemmaForCausalLM"],
      model_type: "gemma",
      vocab_size: model["vocabSize"],
      hidden_size: model["dModel"],
      num_hidden_layers: model["layers"],
      num_attention_heads: model["heads"],
      num_key_value_heads: model["kvHeads"],
      head_dim: model["headDim"],
      intermediate_size: model["ffnDim"],
      max_position_embeddings: model["contextLength"],
      rope_theta: model["ropeBase"],
      rms_norm_eps: model["normEps"],
      tie_word_embeddings: true,
      hidden_act: "gelu_pytorch_tanh",
      hidden_activation: "gelu_pytorch_tanh",
      torch_dtype: "float32",
      pad_token_id: 0,
      eos_token_id: 1,
      bos_token_id: null
    })
    expect((config["dpipe"] as { differences: Array<string> }).differences.join(" ")).toMatch(/No <bos> token/)
    // A tied model's safetensors has no lm_head (transformers' convention for tied weights).
    const st = readFileSync(join(out, "model.safetensors"))
    const header = JSON.parse(st.subarray(8, 8 + Number(st.readBigUInt64LE(0))).toString("utf8")) as Record<string, unknown>
    expect(Object.keys(header)).toContain("model.layers.0.self_attn.q_proj.weight")
    expect(Object.keys(header)).not.toContain("lm_head.weight")
    // An existing, non-empty --out is refused, and left as it was.
    const again = await cli(["export", "m", "--format", "hf", "--out", out, "--store", store])
    expect(again.code).not.toBe(0)
    expect(again.stderr).toMatch(/already exists and is not empty; choose a new --out/)
    expect(readFileSync(join(out, "config.json"), "utf8")).toBe(JSON.stringify(config, null, 2) + "\n")
  }, 120_000)

  it("the non-private baseline is refused without --private (nothing written) and exported with it, labelled private", async () => {
    const parent = tempStore()
    const out = join(parent, "baseline")
    const refused = await cli(["export", "m", "--stage", "baseline", "--format", "hf", "--out", out, "--store", store])
    expect(refused.code).not.toBe(0)
    expect(refused.stderr).toMatch(/^ExportRefused: Stage baseline of run m \(train\): its output "weights" is labelled private/)
    expect(refused.stderr).toMatch(/add --private to export it anyway/)
    expect(existsSync(out)).toBe(false)
    expect(readdirSync(parent)).toEqual([])

    const allowed = await cli(["export", "m", "--stage", "baseline", "--format", "hf", "--out", out, "--private", "--store", store])
    expect(allowed.code, allowed.stderr).toBe(0)
    expect(allowed.stdout).toMatch(/label private/)
    expect(allowed.stdout).toMatch(/PRIVATE: this model was trained on private data without DP/)
    const privacy = json(join(out, "privacy.json"))
    expect(privacy).toMatchObject({ label: "private", guarantee: "none", statement: null })
    expect(String(privacy["summary"])).toMatch(/No differential-privacy guarantee/)
    expect(readdirSync(parent)).toEqual(["baseline"])

    const notAModel = await cli(["export", "m", "--stage", "evaluate", "--format", "hf", "--out", join(parent, "x"), "--private", "--store", store])
    expect(notAModel.stderr).toMatch(/holds no trained model .* Training stages of this run: dp-train, baseline; pick one with --stage/)
    const badFormat = await cli(["export", "m", "--format", "onnx", "--out", join(parent, "y"), "--store", store])
    expect(badFormat.stderr).toMatch(/unknown --format "onnx"; the formats are: hf/)
    expect(readdirSync(parent)).toEqual(["baseline"])
  }, 120_000)
})
