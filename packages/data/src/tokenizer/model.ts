/**
 * A trained byte-level BPE model in plain data: the token table and the ordered
 * merges (Sennrich et al. 2016, "Neural Machine Translation of Rare Words with
 * Subword Units"; byte-level variant of GPT-2, Radford et al. 2019).
 *
 * Id layout: special tokens first (<pad> = 0, <eos> = 1 by default), then the 256
 * single-byte tokens in byte order, then one token per merge (a merge whose string
 * already exists reuses that token, as HF tokenizers' trainer does).
 */
import { Schema } from "effect"

/** Default special tokens, in id order. */
export const DEFAULT_SPECIAL_TOKENS: ReadonlyArray<string> = ["<pad>", "<eos>"]

/** Vocabulary sizes of the project's scales. */
export const VOCAB_SIZES = { tiny: 4096, small: 32768, "1b": 256000 } as const

/** Trainer settings. */
export const BpeTrainConfig = Schema.Struct({
  /** Target vocabulary size, special tokens and the 256 bytes included. */
  vocabSize: Schema.Int,
  /** Special tokens, in id order; must include "<pad>" and "<eos>". Default ["<pad>", "<eos>"]. */
  specialTokens: Schema.optionalKey(Schema.Array(Schema.String)),
  /** Stop merging when the best pair occurs fewer times than this. Default 2. */
  minFrequency: Schema.optionalKey(Schema.Int)
})
export type BpeTrainConfig = typeof BpeTrainConfig.Type

/** A byte-level BPE model. */
export interface BpeModel {
  /** Token strings by id, byte-level encoded (GPT-2 table); specials as their literal text. */
  readonly tokens: ReadonlyArray<string>
  /** Number of leading special tokens. */
  readonly specialCount: number
  /** Merges in rank order, as pairs of token ids. */
  readonly merges: ReadonlyArray<readonly [number, number]>
}
