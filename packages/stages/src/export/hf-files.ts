/**
 * The files of a Hugging Face-style export of a trained dpipe model (pure: the parts
 * in, the files out):
 *
 *   config.json            transformers' GemmaConfig fields and dpipe's differences (engine/model/hf-gemma.ts)
 *   model.safetensors      HF Gemma tensor names and [out, in] layouts, float32
 *   tokenizer.json         the run's tokenizer, byte for byte (HF tokenizers' format)
 *   tokenizer_config.json  a fast tokenizer that adds no special tokens (dpipe trains without <bos>)
 *   privacy.json           the export's privacy label and the run's privacy statement
 *   README.md              what the directory is, how to load it, and what differs from HF's Gemma
 */
import { Schema } from "effect"
import { Privacy } from "@dpipe/dsl"
import type { ModelConfig } from "@dpipe/engine/model/gemma"
import { HfGemmaConfig, hfGemmaConfig, hfGemmaDifferences, toHfGemmaTensors } from "@dpipe/engine/model/hf-gemma"
import { encodeSafetensors } from "@dpipe/engine/model/safetensors"
import { PrivacyStatement } from "@dpipe/stages/report-stages/schemas"

/** privacy.json: the export's label and, for a DP model, the statement of its guarantee. */
export const ExportPrivacy = Schema.Struct({
  format: Schema.Literal("dpipe-export-privacy/1"),
  /** The join of the labels of every artifact the export was made from. */
  label: Privacy.PrivacyLabel,
  guarantee: Schema.Literals(["differential-privacy", "none"]),
  /** One paragraph: the statement's text, or why there is no guarantee. */
  summary: Schema.String,
  source: Schema.Struct({ run: Schema.String, pipeline: Schema.String, scale: Schema.String, node: Schema.String, stage: Schema.String }),
  /** The run's privacy statement for this model (null when there is none). */
  statement: Schema.NullOr(PrivacyStatement),
  /** The training stage's execution plan as it ran (sampler, C, sigma, steps). */
  trainingPlan: Schema.Unknown
})
export type ExportPrivacy = typeof ExportPrivacy.Type

/** tokenizer_config.json: lets transformers load tokenizer.json as a fast tokenizer that adds nothing. */
export const TokenizerConfig = Schema.Struct({
  tokenizer_class: Schema.Literal("PreTrainedTokenizerFast"),
  eos_token: Schema.String,
  pad_token: Schema.String,
  bos_token: Schema.Null,
  add_bos_token: Schema.Literal(false),
  add_eos_token: Schema.Literal(false),
  model_max_length: Schema.Int,
  clean_up_tokenization_spaces: Schema.Literal(false)
})
export type TokenizerConfig = typeof TokenizerConfig.Type

export interface HfExportParts {
  readonly source: ExportPrivacy["source"]
  readonly model: ModelConfig
  /** Parameters in paramLayout order. */
  readonly params: Float32Array
  readonly tokenizerJson: Uint8Array
  readonly tokens: { readonly padId: number; readonly eosId: number; readonly pad: string; readonly eos: string }
  readonly label: Privacy.PrivacyLabel
  /** The model's weights are a DP release (label dp), whether or not a statement was computed. */
  readonly dpTrained: boolean
  readonly statement: PrivacyStatement | undefined
  readonly trainingPlan: unknown
}

const json = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value, null, 2) + "\n")

const privacySummary = (p: HfExportParts): string => {
  if (p.statement !== undefined) return p.statement.text
  if (p.dpTrained) {
    return `This model was trained by the DP mechanism of stage ${p.source.node}, but run ${p.source.run} computed no privacy statement for it; add a privacy-statement stage wired to its plan (see pipelines/vaultgemma-1b.ts) to state its epsilon.`
  }
  return `No differential-privacy guarantee: stage ${p.source.node} (${p.source.stage}) trained on private data without clipping or noise, so the weights are labelled ${p.label} and can reveal their training data. Keep this directory as private as that data.`
}

/** Token names such as <eos> as code spans (bare, Markdown renders them as HTML tags and hides them). */
const code = (text: string): string => text.replace(/<(\w+)>/g, "`<$1>`")

const readme = (p: HfExportParts, config: HfGemmaConfig, privacy: ExportPrivacy, params: number): string => {
  const m = p.model
  return [
    `# ${p.source.pipeline} / ${p.source.node} (run ${p.source.run}, scale ${p.source.scale})`,
    "",
    `A Gemma-architecture causal language model trained by dpipe and exported in Hugging Face transformers' layout: ${params} parameters, ` +
      `${m.layers} layer(s), hidden size ${m.dModel}, ${m.heads} query and ${m.kvHeads} key/value head(s) of ${m.headDim}, GeGLU ${m.ffnDim}, ` +
      `vocabulary ${m.vocabSize}, context ${m.contextLength}, ${m.tiedEmbeddings ? "tied" : "untied"} input and output embeddings.`,
    "",
    `**Privacy label: ${privacy.label}.** ${privacy.summary}`,
    "",
    "| file | what it holds |",
    "|---|---|",
    "| `config.json` | `GemmaForCausalLM` configuration (`model_type: gemma`), and under `dpipe.differences` what differs from it |",
    "| `model.safetensors` | the weights, float32, under transformers' Gemma tensor names (`model.layers.{i}.self_attn.q_proj.weight`, ...; linear weights as [out, in]) |",
    "| `tokenizer.json`, `tokenizer_config.json` | the run's byte-level BPE tokenizer (HF tokenizers format); it adds no special tokens |",
    "| `privacy.json` | the privacy label, the run's privacy statement and the training plan as it ran |",
    "",
    "Loading it with transformers:",
    "",
    "```python",
    "from transformers import AutoModelForCausalLM, PreTrainedTokenizerFast",
    'model = AutoModelForCausalLM.from_pretrained("DIR", torch_dtype="float32")',
    'tokenizer = PreTrainedTokenizerFast.from_pretrained("DIR")',
    "```",
    "",
    "## Differences from transformers' GemmaForCausalLM",
    "",
    "The architecture is Gemma 1's decoder as transformers implements it (embedding scaled by sqrt(hidden_size), RMSNorm with (1 + weight), rotary embeddings " +
      "with rotate_half, grouped-query attention scaled by head_dim^-0.5, GeGLU with gelu_pytorch_tanh, no soft-capping). " +
      "dpipe's tests load a directory exported this way with an independent PyTorch implementation of modeling_gemma.py and get dpipe's held-out loss to within 1e-4 nats. What differs:",
    "",
    ...hfGemmaDifferences(m).map((d) => `- ${code(d)}`),
    "",
    `\`<eos>\` is token ${config.eos_token_id} and \`<pad>\` token ${config.pad_token_id}; \`bos_token_id\` is null.`,
    ""
  ].join("\n")
}

/** The export's files. */
export const hfExportFiles = (p: HfExportParts): ReadonlyArray<{ readonly name: string; readonly bytes: Uint8Array }> => {
  const config = hfGemmaConfig(p.model, { padId: p.tokens.padId, eosId: p.tokens.eosId })
  const tensors = toHfGemmaTensors(p.model, p.params)
  const privacy: ExportPrivacy = {
    format: "dpipe-export-privacy/1",
    label: p.label,
    guarantee: p.dpTrained ? "differential-privacy" : "none",
    summary: privacySummary(p),
    source: p.source,
    statement: p.statement ?? null,
    trainingPlan: p.trainingPlan
  }
  const tokenizerConfig: TokenizerConfig = {
    tokenizer_class: "PreTrainedTokenizerFast",
    eos_token: p.tokens.eos,
    pad_token: p.tokens.pad,
    bos_token: null,
    add_bos_token: false,
    add_eos_token: false,
    model_max_length: p.model.contextLength,
    clean_up_tokenization_spaces: false
  }
  // "format": "pt" is what transformers writes and expects in a PyTorch checkpoint's metadata.
  const metadata = { format: "pt", "dpipe.run": p.source.run, "dpipe.node": p.source.node, "dpipe.label": p.label }
  return [
    { name: "config.json", bytes: json(Schema.encodeSync(HfGemmaConfig)(config)) },
    { name: "model.safetensors", bytes: encodeSafetensors(tensors, metadata) },
    { name: "tokenizer.json", bytes: p.tokenizerJson },
    { name: "tokenizer_config.json", bytes: json(Schema.encodeSync(TokenizerConfig)(tokenizerConfig)) },
    { name: "privacy.json", bytes: json(Schema.encodeSync(ExportPrivacy)(privacy)) },
    { name: "README.md", bytes: new TextEncoder().encode(readme(p, config, privacy, tensors.reduce((a, t) => a + t.data.length, 0))) }
  ]
}
