/** A small tokenizer trained once per test file on a slice of the public corpora. */
import { nlpCorpusTexts } from "@dpipe/data/public-corpora"
import { BpeTokenizer } from "@dpipe/data/tokenizer/encoder"
import { trainBpe, type TrainResult } from "@dpipe/data/tokenizer/train"

/** The first n sentences of nlp-corpus. */
export const publicSample = (n: number): Array<string> => {
  const out: Array<string> = []
  for (const s of nlpCorpusTexts()) {
    out.push(s)
    if (out.length >= n) break
  }
  return out
}

let cached: { readonly result: TrainResult; readonly tokenizer: BpeTokenizer } | undefined

/** A 2048-token tokenizer trained on 20,000 public sentences. */
export const smallTokenizer = (): { readonly result: TrainResult; readonly tokenizer: BpeTokenizer } => {
  if (cached === undefined) {
    const result = trainBpe(publicSample(20_000), { vocabSize: 2048 })
    cached = { result, tokenizer: new BpeTokenizer(result.model) }
  }
  return cached
}
