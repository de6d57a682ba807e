/**
 * Table schemas and JSON report schemas of the data stages.
 *
 * `Documents` and `Sequences` are declared once, in data/schema.ts, and re-exported
 * here; the canaries table matches data/canary.ts `CanaryRecord`, so the library's
 * generators feed the tables directly.
 */
import { Schema } from "effect"
import { Col, makeTable } from "@dpipe/dsl"
import { CanaryFormat } from "@dpipe/data/canary"
import { LoadStatsSchema } from "@dpipe/data/schema"

export { Documents, Sequences } from "@dpipe/data/schema"

/** Public text for the tokenizer: one sentence (nlp-corpus) or paragraph (Brown) per row. */
export const PublicTexts = makeTable("public-texts", {
  source: Col.utf8,
  text: Col.utf8
})


/** Where each copy of each canary went (private: it holds the secrets). */
export const Canaries = makeTable("canaries", {
  canary_id: Col.int32,
  copy: Col.int32,
  secret: Col.utf8,
  sentence: Col.utf8,
  doc_id: Col.utf8,
  user_id: Col.utf8,
  /** UTF-16 offset of the sentence in the document's text after insertion. */
  char_offset: Col.int32
})

/** The corpus stage's load report: aggregate counts over private data (labelled private). */
export const CorpusReport = Schema.Struct({
  source: Schema.String,
  ...LoadStatsSchema.fields,
  /** True when `maxDocuments` stopped the load early (the counts cover what was read). */
  truncated: Schema.Boolean
})
export type CorpusReport = typeof CorpusReport.Type

/** The tokenizer stage's report (public: computed from public text only). */
export const TokenizerReport = Schema.Struct({
  requestedVocabSize: Schema.Int,
  vocabSize: Schema.Int,
  merges: Schema.Int,
  specialTokens: Schema.Array(Schema.String),
  minFrequency: Schema.Int,
  /** True when no pair reached minFrequency before requestedVocabSize. */
  exhausted: Schema.Boolean,
  texts: Schema.Int,
  distinctPieces: Schema.Int
})
export type TokenizerReport = typeof TokenizerReport.Type

/** The canary format and counts, for the exposure evaluation (private, as every output of pack). */
export const CanaryInfo = Schema.Struct({
  format: CanaryFormat,
  /** Number of possible secrets (10^digits): the candidate space of the exposure metric. */
  secretSpaceSize: Schema.Number,
  count: Schema.Int,
  repeats: Schema.Int
})
export type CanaryInfo = typeof CanaryInfo.Type
