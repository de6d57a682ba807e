/**
 * The HF `tokenizers` library (Rust, via its Node binding 0.23.2) loading a dpipe
 * tokenizer.json: a native encoder for cross-checking ours and for throughput.
 * Differences from BpeTokenizer: its calls are async, and it matches added (special)
 * token strings in the input text, so text containing "<eos>" would yield the EOS id;
 * dpipe's stages therefore encode with BpeTokenizer.
 */
import { Tokenizer } from "tokenizers"

export type HfTokenizer = Tokenizer

/** An HF tokenizer from a tokenizer.json string. */
export const hfTokenizerFromJson = (json: string): HfTokenizer => Tokenizer.fromString(json)

/** Token ids of a text, without post-processing special tokens. */
export const hfEncode = async (tokenizer: HfTokenizer, text: string): Promise<Array<number>> =>
  (await tokenizer.encode(text, null, { addSpecialTokens: false })).getIds()

/** Token ids of many texts (the library may use several threads). */
export const hfEncodeBatch = async (tokenizer: HfTokenizer, texts: ReadonlyArray<string>): Promise<Array<Array<number>>> =>
  (await tokenizer.encodeBatch(texts.slice(), { addSpecialTokens: false })).map((e) => e.getIds())
