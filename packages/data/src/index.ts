/**
 * @dpipe/data: text corpora for DP language-model training. Mail parsing (mime/), loaders
 * for the SpamAssassin corpus, JSONL files and text folders, the public corpora the
 * tokenizer trains on, the user-level split, a byte-level BPE tokenizer that writes and
 * reads Hugging Face's tokenizer.json (tokenizer/), packing into fixed-length sequences,
 * and canaries for memorization tests.
 */
export * from "@dpipe/data/schema"
export * from "@dpipe/data/errors"
export * from "@dpipe/data/corpus"
export * from "@dpipe/data/jsonl"
export * from "@dpipe/data/text-folder"
export * from "@dpipe/data/spam-assassin"
export * from "@dpipe/data/public-corpora"
export * from "@dpipe/data/split"
export * from "@dpipe/data/pack"
export * from "@dpipe/data/canary"
export * from "@dpipe/data/tokenizer/model"
export * from "@dpipe/data/tokenizer/train"
export * from "@dpipe/data/tokenizer/encoder"
export * from "@dpipe/data/tokenizer/hf-json"
export * from "@dpipe/data/tokenizer/errors"
