/**
 * Row types of the data stages. `Document` rows form the private `documents` table;
 * `Sequence` rows the private `sequences` table (the privacy unit of DP-SGD is one
 * sequence, as in VaultGemma).
 */
import { Schema } from "effect"
import { Col, makeTable, type Row } from "@dpipe/dsl"

/**
 * Documents (private): one e-mail or user document each: its id, its (pseudonymous)
 * user, its text and its UTF-8 size. One declaration gives the row type, the row
 * Schema and the Parquet columns.
 */
export const Documents = makeTable("documents", {
  doc_id: Col.utf8,
  user_id: Col.utf8,
  text: Col.utf8,
  bytes: Col.int32
})
export type Document = Row<typeof Documents>

/**
 * Packed sequences (private): exactly seqLen token ids each, the privacy unit of
 * sequence-level DP-SGD. `user_id` is the user contributing most tokens ("mixed"
 * packing) or the only one ("per-user").
 */
export const Sequences = makeTable("sequences", {
  seq_id: Col.int64,
  user_id: Col.utf8,
  tokens: Col.int32List
})
export type Sequence = Row<typeof Sequences>

/** A raw RFC 822 message from a mail corpus. */
export const RawMessage = Schema.Struct({
  id: Schema.String,
  text: Schema.String
})
export type RawMessage = typeof RawMessage.Type

/** Counts reported by a loader or the corpus parser (malformed inputs are counted and skipped). */
export const LoadStatsSchema = Schema.Struct({
  read: Schema.Int,
  kept: Schema.Int,
  duplicates: Schema.Int,
  malformed: Schema.Int,
  malformedByReason: Schema.Record(Schema.String, Schema.Int)
})

/**
 * The mutable form loaders update while they stream (the fields of LoadStatsSchema, plus
 * where the first record of each malformed reason was found). Every record read is
 * counted exactly once: read = kept + duplicates + malformed.
 */
export interface LoadStats {
  read: number
  kept: number
  duplicates: number
  malformed: number
  malformedByReason: Record<string, number>
  /** The first malformed record of each reason: where it is and what is wrong, e.g. "mail.jsonl line 7: not valid JSON". */
  firstMalformed: Record<string, string>
  /** Called after each malformed record is counted; a consumer may throw to stop the load there. */
  onMalformed?: ((stats: LoadStats) => void) | undefined
}

/** A fresh, zeroed stats record (loaders mutate it while they stream). */
export const newLoadStats = (): LoadStats => ({ read: 0, kept: 0, duplicates: 0, malformed: 0, malformedByReason: {}, firstMalformed: {} })

/** Counts one malformed input under a reason; `where` (file, line and detail) is kept for the first of each reason. */
export const countMalformed = (stats: LoadStats, reason: string, where?: string): void => {
  stats.malformed++
  stats.malformedByReason[reason] = (stats.malformedByReason[reason] ?? 0) + 1
  if (where !== undefined && stats.firstMalformed[reason] === undefined) stats.firstMalformed[reason] = where
  stats.onMalformed?.(stats)
}

/** UTF-8 byte length of a string. */
export const utf8Length = (s: string): number => Buffer.byteLength(s, "utf8")
