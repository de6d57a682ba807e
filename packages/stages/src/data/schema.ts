/**
 * Row types of the data stages. `Document` rows form the private `documents` table;
 * `Sequence` rows the private `sequences` table (the privacy unit of DP-SGD is one
 * sequence, as in VaultGemma).
 */
import { Schema } from "effect"

/** One document: its id, its (pseudonymous) user, its text and its UTF-8 size. */
export const Document = Schema.Struct({
  doc_id: Schema.String,
  user_id: Schema.String,
  text: Schema.String,
  bytes: Schema.Int
})
export type Document = typeof Document.Type

/** One packed training sequence of exactly seqLen token ids. */
export const Sequence = Schema.Struct({
  seq_id: Schema.Int,
  /** The only user in "per-user" packing; in "mixed" packing the user contributing most tokens. */
  user_id: Schema.String,
  tokens: Schema.instanceOf(Int32Array)
})
export type Sequence = typeof Sequence.Type

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

/** The mutable form loaders update while they stream (same fields as LoadStatsSchema). */
export interface LoadStats {
  read: number
  kept: number
  duplicates: number
  malformed: number
  malformedByReason: Record<string, number>
}

/** A fresh, zeroed stats record (loaders mutate it while they stream). */
export const newLoadStats = (): LoadStats => ({ read: 0, kept: 0, duplicates: 0, malformed: 0, malformedByReason: {} })

/** Counts one malformed input under a reason. */
export const countMalformed = (stats: LoadStats, reason: string): void => {
  stats.malformed++
  stats.malformedByReason[reason] = (stats.malformedByReason[reason] ?? 0) + 1
}

/** UTF-8 byte length of a string. */
export const utf8Length = (s: string): number => Buffer.byteLength(s, "utf8")
