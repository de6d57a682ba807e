/**
 * dpipe's Gemma (model/gemma.ts) as Hugging Face transformers' `GemmaForCausalLM`
 * (modeling_gemma.py, configuration_gemma.py): the config.json fields and the tensor
 * names and layouts of its model.safetensors, and back.
 *
 * Architecture: dpipe's model is Gemma 1's decoder (Gemma Team 2024): pre-norm only,
 * no logit soft-capping, global attention in every layer, which is also VaultGemma's
 * (model/gemma.ts header). HF's Gemma 2 and VaultGemma classes add soft-capping,
 * sliding windows and `query_pre_attn_scalar`; `GemmaForCausalLM` has none of them and
 * computes what dpipe computes:
 *
 * | dpipe (gemma.ts)                               | HF Gemma                                         |
 * |------------------------------------------------|--------------------------------------------------|
 * | h0 = E[x] sqrt(d)                              | embed_tokens(x) * hidden_size**0.5               |
 * | RMSNorm x / sqrt(mean x^2 + eps) (1 + w)       | GemmaRMSNorm, same formula, weight = w           |
 * | qkv [d, (H + 2K) hd], columns Q | K | V, head-major | q/k/v_proj.weight [out, in]: the blocks, transposed |
 * | RoPE x cos + rotate_half(x) sin, half-split pairs (j, j + hd/2), angle t / base^(2j/hd) | apply_rotary_pos_emb with rotate_half, inv_freq 1/base^(2j/hd): the same pairs, so no row permutation |
 * | query head h reads kv head floor(h / (H/K))    | repeat_kv: the same grouping                      |
 * | scores / sqrt(hd), causal mask -1e9            | scaling head_dim**-0.5, mask at the dtype's min  |
 * | o [H hd, d]                                    | o_proj.weight [d, H hd] (transposed)              |
 * | gate_up [d, 2f], columns gate | up; gelu_tanh(gate) * up | gate_proj, up_proj [f, d]; gelu_pytorch_tanh |
 * | down [f, d]                                    | down_proj.weight [d, f] (transposed)              |
 * | final_norm; logits u E^T (tied) or u W_out     | model.norm; lm_head tied, or lm_head.weight = W_out^T |
 *
 * What still differs is written into config.json (`dpipe.differences`) by `hfGemmaConfig`
 * and repeated in the export's README: float32 rounding only (dpipe computes the RoPE
 * angles and the embedding scale in float64 and rounds once; HF in float32), no <bos>
 * token (dpipe's sequences are cut from a stream of documents each ended by <eos>), and
 * the trained context (`max_position_embeddings` is the context dpipe trained at).
 */
import { Schema } from "effect"
import { paramLayout, type ModelConfig, type ParamSpec } from "@dpipe/engine/model/gemma"
import type { F32Tensor } from "@dpipe/engine/model/safetensors"

export class HfGemmaError extends Schema.TaggedError<HfGemmaError>()("HfGemmaError", {
  message: Schema.String
}) {}

const PositiveInt = Schema.Int.check(Schema.isGreaterThan(0))
const TokenId = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))

/** config.json of an exported model: transformers' GemmaConfig fields, plus dpipe's notes. */
export const HfGemmaConfig = Schema.Struct({
  architectures: Schema.Tuple([Schema.Literal("GemmaForCausalLM")]),
  model_type: Schema.Literal("gemma"),
  vocab_size: PositiveInt,
  hidden_size: PositiveInt,
  num_hidden_layers: PositiveInt,
  num_attention_heads: PositiveInt,
  num_key_value_heads: PositiveInt,
  head_dim: PositiveInt,
  intermediate_size: PositiveInt,
  max_position_embeddings: PositiveInt,
  rope_theta: Schema.Finite.check(Schema.isGreaterThan(1)),
  rms_norm_eps: Schema.Finite.check(Schema.isGreaterThan(0)),
  tie_word_embeddings: Schema.Boolean,
  /** The activation under both names transformers has used for Gemma's MLP. */
  hidden_act: Schema.Literal("gelu_pytorch_tanh"),
  hidden_activation: Schema.Literal("gelu_pytorch_tanh"),
  attention_bias: Schema.Literal(false),
  attention_dropout: Schema.Literal(0),
  torch_dtype: Schema.Literal("float32"),
  initializer_range: Schema.Finite,
  use_cache: Schema.Boolean,
  pad_token_id: TokenId,
  eos_token_id: TokenId,
  /** dpipe trains without a <bos> token. */
  bos_token_id: Schema.Null,
  dpipe: Schema.Struct({
    format: Schema.Literal("dpipe-hf-gemma/1"),
    /** How this model's computation differs from GemmaForCausalLM's, if at all. */
    differences: Schema.Array(Schema.String)
  })
})
export type HfGemmaConfig = typeof HfGemmaConfig.Type

/** The special tokens config.json names (from the run's tokenizer). */
export interface HfTokenIds {
  readonly padId: number
  readonly eosId: number
}

/** The differences config.json and the export's README state. */
export const hfGemmaDifferences = (c: ModelConfig): ReadonlyArray<string> => [
  "Numerics only: dpipe computes the rotary angles t / rope_theta^(2j/head_dim) and the embedding scale sqrt(hidden_size) in float64 and rounds them once to float32; GemmaForCausalLM computes them in float32. Per-token losses agree to ~1e-6 nats at the trained context.",
  "No <bos> token: training sequences are windows cut from a stream of documents, each document followed by <eos>; nothing is prepended. Feed token ids as the exported tokenizer produces them (it adds no special tokens).",
  `max_position_embeddings (${c.contextLength}) is the context dpipe trained at (sequence length minus one); rotary embeddings run at longer contexts, untrained.`,
  "dpipe's training loss is each sequence's mean token cross-entropy, averaged over the batch; its evaluation (and this export's loss test) averages over every non-<pad> target token, as GemmaForCausalLM's loss does with <pad> labels set to -100."
]

/** config.json for a dpipe model (fails only on a config that is not a valid ModelConfig). */
export const hfGemmaConfig = (c: ModelConfig, tokens: HfTokenIds): HfGemmaConfig => ({
  architectures: ["GemmaForCausalLM"],
  model_type: "gemma",
  vocab_size: c.vocabSize,
  hidden_size: c.dModel,
  num_hidden_layers: c.layers,
  num_attention_heads: c.heads,
  num_key_value_heads: c.kvHeads,
  head_dim: c.headDim,
  intermediate_size: c.ffnDim,
  max_position_embeddings: c.contextLength,
  rope_theta: c.ropeBase,
  rms_norm_eps: c.normEps,
  tie_word_embeddings: c.tiedEmbeddings,
  hidden_act: "gelu_pytorch_tanh",
  hidden_activation: "gelu_pytorch_tanh",
  attention_bias: false,
  attention_dropout: 0,
  torch_dtype: "float32",
  initializer_range: 0.02,
  use_cache: true,
  pad_token_id: tokens.padId,
  eos_token_id: tokens.eosId,
  bos_token_id: null,
  dpipe: { format: "dpipe-hf-gemma/1", differences: hfGemmaDifferences(c) }
})

/** dpipe's model config from an exported config.json (the inverse of `hfGemmaConfig`). */
export const modelConfigOfHf = (h: HfGemmaConfig): ModelConfig => ({
  vocabSize: h.vocab_size,
  contextLength: h.max_position_embeddings,
  dModel: h.hidden_size,
  layers: h.num_hidden_layers,
  heads: h.num_attention_heads,
  kvHeads: h.num_key_value_heads,
  headDim: h.head_dim,
  ffnDim: h.intermediate_size,
  tiedEmbeddings: h.tie_word_embeddings,
  ropeBase: h.rope_theta,
  normEps: h.rms_norm_eps
})

/** Columns [c0, c1) of a row-major [rows, cols] matrix, transposed: [c1 - c0, rows]. */
const columnsTransposed = (m: Float32Array, rows: number, cols: number, c0: number, c1: number): Float32Array => {
  const w = c1 - c0
  const out = new Float32Array(w * rows)
  for (let i = 0; i < rows; i++) {
    const src = i * cols + c0
    for (let j = 0; j < w; j++) out[j * rows + i] = m[src + j] as number
  }
  return out
}

/** Writes `t` ([w, rows], row-major) transposed into columns [c0, c0 + w) of a [rows, cols] matrix. */
const setColumnsTransposed = (m: Float32Array, rows: number, cols: number, c0: number, t: Float32Array): void => {
  const w = t.length / rows
  for (let j = 0; j < w; j++) for (let i = 0; i < rows; i++) m[i * cols + c0 + j] = t[j * rows + i] as number
}

/**
 * How one dpipe parameter maps to HF tensors: for a matrix [rows, cols] stored as
 * y = x W, each HF linear weight is a column block transposed to [out, in].
 */
interface Piece {
  readonly hf: string
  /** Column block of a dpipe matrix, transposed; absent: the parameter as it is. */
  readonly columns?: readonly [number, number]
}

const piecesOf = (c: ModelConfig, s: ParamSpec): ReadonlyArray<Piece> => {
  const q = c.heads * c.headDim
  const kv = c.kvHeads * c.headDim
  const f = c.ffnDim
  const all = (n: number) => [0, n] as const
  if (s.name === "embed") return [{ hf: "model.embed_tokens.weight" }]
  if (s.name === "final_norm") return [{ hf: "model.norm.weight" }]
  if (s.name === "unembed") return [{ hf: "lm_head.weight", columns: all(c.vocabSize) }]
  const m = /^layers\.(\d+)\.(.+)$/.exec(s.name)
  if (m === null) throw new HfGemmaError({ message: `no Hugging Face name for parameter "${s.name}": update hf-gemma.ts with the model's layout` })
  const p = `model.layers.${m[1]}`
  switch (m[2]) {
    case "attn_norm":
      return [{ hf: `${p}.input_layernorm.weight` }]
    case "qkv":
      return [
        { hf: `${p}.self_attn.q_proj.weight`, columns: [0, q] },
        { hf: `${p}.self_attn.k_proj.weight`, columns: [q, q + kv] },
        { hf: `${p}.self_attn.v_proj.weight`, columns: [q + kv, q + 2 * kv] }
      ]
    case "o":
      return [{ hf: `${p}.self_attn.o_proj.weight`, columns: all(c.dModel) }]
    case "mlp_norm":
      return [{ hf: `${p}.post_attention_layernorm.weight` }]
    case "gate_up":
      return [
        { hf: `${p}.mlp.gate_proj.weight`, columns: [0, f] },
        { hf: `${p}.mlp.up_proj.weight`, columns: [f, 2 * f] }
      ]
    case "down":
      return [{ hf: `${p}.mlp.down_proj.weight`, columns: all(c.dModel) }]
    default:
      throw new HfGemmaError({ message: `no Hugging Face name for parameter "${s.name}": update hf-gemma.ts with the model's layout` })
  }
}

/**
 * The HF tensors of a flat dpipe parameter vector (paramLayout order), in that order.
 * A tied model has no `lm_head.weight` (as transformers saves tied models).
 *
 * @throws HfGemmaError when `flat` does not have the config's parameter count
 */
export const toHfGemmaTensors = (c: ModelConfig, flat: Float32Array): ReadonlyArray<F32Tensor> => {
  const layout = paramLayout(c)
  const total = layout.reduce((a, s) => a + s.size, 0)
  if (flat.length !== total) throw new HfGemmaError({ message: `the weights hold ${flat.length} values, the model config needs ${total}: export weights and config of the same training stage` })
  return layout.flatMap((s) =>
    piecesOf(c, s).map((piece): F32Tensor => {
      const v = flat.subarray(s.offset, s.offset + s.size)
      if (piece.columns === undefined) return { name: piece.hf, shape: [...s.shape], data: v.slice() }
      const [rows, cols] = s.shape as [number, number]
      const [c0, c1] = piece.columns
      return { name: piece.hf, shape: [c1 - c0, rows], data: columnsTransposed(v, rows, cols, c0, c1) }
    })
  )
}

/**
 * dpipe's flat parameter vector from HF Gemma tensors (the inverse of
 * `toHfGemmaTensors`); extra tensors are refused, so nothing is silently dropped.
 *
 * @throws HfGemmaError naming a missing, extra or mis-shaped tensor
 */
export const fromHfGemmaTensors = (c: ModelConfig, tensors: ReadonlyArray<F32Tensor>): Float32Array => {
  const byName = new Map(tensors.map((t) => [t.name, t] as const))
  const layout = paramLayout(c)
  const flat = new Float32Array(layout.reduce((a, s) => a + s.size, 0))
  const used = new Set<string>()
  for (const s of layout) {
    const v = flat.subarray(s.offset, s.offset + s.size)
    for (const piece of piecesOf(c, s)) {
      const t = byName.get(piece.hf)
      if (t === undefined) throw new HfGemmaError({ message: `tensor "${piece.hf}" is missing: the file does not hold this config's model` })
      used.add(piece.hf)
      const want = piece.columns === undefined ? [...s.shape] : [piece.columns[1] - piece.columns[0], s.shape[0] as number]
      if (t.shape.length !== want.length || t.shape.some((n, i) => n !== want[i])) {
        throw new HfGemmaError({ message: `tensor "${piece.hf}" has shape [${t.shape.join(", ")}], this config needs [${want.join(", ")}]` })
      }
      if (piece.columns === undefined) v.set(t.data)
      else setColumnsTransposed(v, s.shape[0] as number, s.shape[1] as number, piece.columns[0], t.data)
    }
  }
  const extra = tensors.filter((t) => !used.has(t.name)).map((t) => t.name)
  if (extra.length > 0) throw new HfGemmaError({ message: `tensors this config does not use: ${extra.join(", ")} (an untied lm_head with tie_word_embeddings true?)` })
  return flat
}
