/**
 * Stage `tokenizer`: trains a byte-level BPE tokenizer on PUBLIC text and saves it as
 * an HF tokenizer.json (loads in HF tokenizers and transformers; tokenizer/hf-json.ts).
 *
 * Privacy (docs/privacy.md, P9): the input `texts` requires `public`, so wiring a private
 * artifact into it fails at plan time; the tokenizer and its report are public.
 *
 * If the corpus runs out of pairs occurring at least minFrequency times before
 * vocabSize is reached, the stage fails (a model configured for vocabSize would get a
 * different embedding size than planned) unless `allowSmallerVocab` is true; the
 * achieved size is in the `report` output either way.
 */
import { Effect, Schema, Stream } from "effect"
import { Artifact, Progress, Stage, StageFailed } from "@dpipe/dsl"
import { toTokenizerJson } from "@dpipe/data/tokenizer/hf-json"
import { DEFAULT_SPECIAL_TOKENS } from "@dpipe/data/tokenizer/model"
import { countPieces, MAX_VOCAB_SIZE, trainBpeFromCounts } from "@dpipe/data/tokenizer/train"
import { attempt, inputFailed } from "./streams.ts"
import { PublicTexts, TokenizerReport } from "./tables.ts"

const MIN_VOCAB = DEFAULT_SPECIAL_TOKENS.length + 256

export const TokenizerConfig = Schema.Struct({
  /** Vocabulary size, the special tokens (<pad>, <eos>) and the 256 bytes included. */
  vocabSize: Schema.Int.check(
    Schema.makeFilter((v) => (v >= MIN_VOCAB && v <= MAX_VOCAB_SIZE ? undefined : `must be between ${MIN_VOCAB} (2 special tokens + 256 bytes) and ${MAX_VOCAB_SIZE}, got ${v}`))
  ),
  /** Stop merging when the most frequent pair occurs fewer times than this (default 2). */
  minFrequency: Schema.Int.check(Schema.isGreaterThan(0)).pipe(Schema.withDecodingDefaultKey(Effect.succeed(2))),
  /** Accept a smaller vocabulary when the corpus is exhausted (default false: fail). */
  allowSmallerVocab: Schema.Boolean.pipe(Schema.withDecodingDefaultKey(Effect.succeed(false)))
})
export type TokenizerConfig = typeof TokenizerConfig.Type

export const tokenizer = Stage.make({
  name: "tokenizer",
  version: "1",
  description: "Trains a byte-level BPE tokenizer on public text; writes an HF tokenizer.json.",
  config: TokenizerConfig,
  inputs: { texts: Artifact.table(PublicTexts, { requires: "public", description: "public text only (docs/privacy.md, P9)" }) },
  outputs: {
    tokenizer: Artifact.file("tokenizer", "json", { label: "public", description: "HF tokenizer.json (byte-level BPE)" }),
    report: Artifact.json("tokenizer-report", TokenizerReport, { label: "public" })
  },
  run: ({ config, inputs }) =>
    Effect.gen(function* () {
      const progress = yield* Progress
      const counts = new Map<string, number>()
      let texts = 0
      const total = inputs.texts.numRows
      yield* inputs.texts.batches().pipe(
        Stream.mapError(inputFailed("tokenizer", "texts")),
        Stream.runForEach((rows) =>
          Effect.gen(function* () {
            countPieces(rows.map((r) => r.text), counts)
            texts += rows.length
            yield* progress.update(texts, total, { phase: "counting" })
          })
        )
      )
      if (texts === 0) {
        return yield* new StageFailed({ message: "tokenizer: the public text table is empty. Check the public-corpus stage (its sources and maxTexts)." })
      }
      yield* progress.info(`${counts.size} distinct pieces in ${texts} texts; learning ${config.vocabSize - MIN_VOCAB} merges`)
      const { model, exhausted } = yield* attempt(() => trainBpeFromCounts(counts, { vocabSize: config.vocabSize, minFrequency: config.minFrequency }))
      const achieved = model.tokens.length
      if (exhausted && !config.allowSmallerVocab) {
        return yield* new StageFailed({
          message: `tokenizer: the public corpus supports only ${achieved} of the ${config.vocabSize} tokens asked for ` +
            `(no pair of tokens occurs at least ${config.minFrequency} times any more). Add public text, lower tokenizer.vocabSize ` +
            `or tokenizer.minFrequency, or accept the smaller vocabulary with --set tokenizer.allowSmallerVocab=true.`
        })
      }
      if (exhausted) yield* progress.info(`corpus exhausted: vocabulary of ${achieved} tokens instead of ${config.vocabSize} (allowSmallerVocab)`)
      const report: TokenizerReport = {
        requestedVocabSize: config.vocabSize,
        vocabSize: achieved,
        merges: model.merges.length,
        specialTokens: model.tokens.slice(0, model.specialCount),
        minFrequency: config.minFrequency,
        exhausted,
        texts,
        distinctPieces: counts.size
      }
      return { tokenizer: toTokenizerJson(model), report }
    })
})
