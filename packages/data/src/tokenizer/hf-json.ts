/**
 * HF tokenizers' `tokenizer.json` format for a byte-level BPE model (the format of
 * GPT-2/RoBERTa tokenizers on the HF hub), so trained tokenizers load in HF
 * tokenizers (Rust, Python, Node) and transformers:
 *   model: { type: "BPE", vocab: {token: id}, merges: [[a, b], ...] }
 *   pre_tokenizer / decoder: ByteLevel with add_prefix_space false (lossless);
 *   added_tokens: the special tokens.
 */
import { TokenizerFormatError } from "@dpipe/data/tokenizer/errors"
import { BpeTokenizer } from "@dpipe/data/tokenizer/encoder"
import type { BpeModel } from "@dpipe/data/tokenizer/model"

const byteLevel = { type: "ByteLevel", add_prefix_space: false, trim_offsets: false, use_regex: true }

/** Serializes a model as an HF tokenizer.json string. */
export const toTokenizerJson = (model: BpeModel, pretty = false): string => {
  const vocab: Record<string, number> = {}
  model.tokens.forEach((t, i) => {
    vocab[t] = i
  })
  const json = {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: model.tokens.slice(0, model.specialCount).map((content, id) => ({
      id,
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true
    })),
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor: null,
    decoder: byteLevel,
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges: model.merges.map(([a, b]) => [model.tokens[a], model.tokens[b]])
    }
  }
  return JSON.stringify(json, null, pretty ? 2 : undefined)
}

const fail = (what: string): never => {
  throw new TokenizerFormatError({ message: `tokenizer.json: ${what}. Expected a byte-level BPE tokenizer as written by dpipe or HF tokenizers (GPT-2 style).` })
}

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

/**
 * Reads an HF tokenizer.json string into a model. Special tokens are the added tokens
 * marked special; they must have the lowest ids.
 *
 * @throws TokenizerFormatError when it is not a byte-level BPE tokenizer.json
 */
export const fromTokenizerJson = (text: string): BpeModel => {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (e) {
    return fail(`not valid JSON (${String(e)})`)
  }
  if (!isRecord(json) || !isRecord(json["model"])) return fail("no model object")
  const model = json["model"]
  if (model["type"] !== "BPE") return fail(`model type is ${JSON.stringify(model["type"])}, not "BPE"`)
  const pre = json["pre_tokenizer"]
  if (!isRecord(pre) || pre["type"] !== "ByteLevel" || pre["add_prefix_space"] === true) {
    return fail("pre_tokenizer must be ByteLevel with add_prefix_space false")
  }
  const vocab = model["vocab"]
  if (!isRecord(vocab)) return fail("model.vocab is not an object")
  const tokens: Array<string> = []
  for (const [t, id] of Object.entries(vocab)) {
    if (typeof id !== "number" || !Number.isInteger(id) || id < 0) return fail(`vocab id of ${JSON.stringify(t)} is not a non-negative integer`)
    if (tokens[id] !== undefined) return fail(`vocab id ${id} is used twice`)
    tokens[id] = t
  }
  const added = Array.isArray(json["added_tokens"]) ? json["added_tokens"] : []
  for (const a of added) {
    if (isRecord(a) && typeof a["id"] === "number" && typeof a["content"] === "string") tokens[a["id"]] ??= a["content"]
  }
  for (let i = 0; i < tokens.length; i++) if (tokens[i] === undefined) return fail(`vocab has no token with id ${i}`)
  const specials = added.filter((a) => isRecord(a) && a["special"] === true).map((a) => (a as Record<string, unknown>)["id"])
  const specialCount = specials.length
  for (let i = 0; i < specialCount; i++) if (!specials.includes(i)) return fail("special tokens must have the lowest ids")
  const ids = new Map(tokens.map((t, i) => [t, i]))
  const rawMerges = model["merges"]
  if (!Array.isArray(rawMerges)) return fail("model.merges is not an array")
  const merges = rawMerges.map((m: unknown, r) => {
    const pair = typeof m === "string" ? m.split(" ") : m
    if (!Array.isArray(pair) || pair.length !== 2) return fail(`merge ${r} is not a pair`)
    const a = ids.get(String(pair[0])), b = ids.get(String(pair[1]))
    if (a === undefined || b === undefined) return fail(`merge ${r} uses a token missing from the vocab`)
    return [a, b] as const
  })
  return { tokens, specialCount, merges }
}

/** A ready encoder from a tokenizer.json string. @throws TokenizerFormatError */
export const tokenizerFromJson = (text: string): BpeTokenizer => new BpeTokenizer(fromTokenizerJson(text))
