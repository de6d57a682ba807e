/**
 * Tokenize-and-pack: each document's tokens followed by <eos> are concatenated and
 * cut into fixed-length sequences of seqLen tokens, the privacy unit of
 * sequence-level DP-SGD (VaultGemma: 1024-token sequences). Streams: memory is one
 * sequence buffer ("mixed") or one per user with an unfinished sequence ("per-user").
 *
 * Modes:
 *   - "mixed" (default): documents of different users may share a sequence; user_id
 *     is the user contributing most tokens (first on ties). No padding except the
 *     last sequence.
 *   - "per-user": a sequence holds tokens of one user only (for user-level DP); each
 *     user's last sequence is padded (or dropped).
 * The final partial sequence(s) are padded with <pad> ("pad", default) or dropped
 * ("drop"). A document longer than seqLen spans several sequences.
 */
import { Schema } from "effect"
import { DataConfigError } from "@dpipe/data/errors"
import type { Document, Sequence } from "@dpipe/data/schema"

/** Packing settings. */
export const PackConfig = Schema.Struct({
  seqLen: Schema.Int,
  mode: Schema.optionalKey(Schema.Literals(["mixed", "per-user"])),
  remainder: Schema.optionalKey(Schema.Literals(["pad", "drop"]))
})
export type PackConfig = typeof PackConfig.Type

/** One tokenized document (without EOS). */
export interface TokenizedDocument {
  readonly user_id: string
  readonly tokens: Int32Array
}

/** Special ids the packer needs, and the first seq_id to assign (default 0). */
export interface PackIds {
  readonly eosId: number
  readonly padId: number
  readonly firstSeqId?: number
}

/** Anything with an `encode(text): Int32Array` (BpeTokenizer). */
export interface TextEncoderLike {
  encode(text: string): Int32Array
}

class Buffer1 {
  readonly tokens: Int32Array
  fill = 0
  readonly counts = new Map<string, number>()
  constructor(seqLen: number) {
    this.tokens = new Int32Array(seqLen)
  }
}

/** Incremental packer: push documents, collect finished sequences, flush at the end. */
export class SequencePacker {
  private readonly seqLen: number
  private readonly perUser: boolean
  private readonly pad: boolean
  private nextId: number
  private readonly buffers = new Map<string, Buffer1>()
  private readonly eos: Int32Array

  private readonly ids: PackIds

  /** @throws DataConfigError for a seqLen below 2 */
  constructor(config: PackConfig, ids: PackIds) {
    this.ids = ids
    if (!Number.isInteger(config.seqLen) || config.seqLen < 2) {
      throw new DataConfigError({ message: `pack: seqLen must be an integer >= 2, got ${config.seqLen}. VaultGemma uses 1024.` })
    }
    this.seqLen = config.seqLen
    this.perUser = config.mode === "per-user"
    this.pad = config.remainder !== "drop"
    this.nextId = ids.firstSeqId ?? 0
    this.eos = Int32Array.of(ids.eosId)
  }

  private emit(buf: Buffer1): Sequence {
    let user = ""
    let best = -1
    for (const [u, c] of buf.counts) {
      if (c > best) {
        best = c
        user = u
      }
    }
    const tokens = buf.tokens.slice()
    if (buf.fill < this.seqLen) tokens.fill(this.ids.padId, buf.fill)
    buf.fill = 0
    buf.counts.clear()
    return { seq_id: this.nextId++, user_id: user, tokens }
  }

  private append(userId: string, src: Int32Array, out: Array<Sequence>): void {
    const key = this.perUser ? userId : ""
    let buf = this.buffers.get(key)
    if (buf === undefined) {
      buf = new Buffer1(this.seqLen)
      this.buffers.set(key, buf)
    }
    let i = 0
    while (i < src.length) {
      const n = Math.min(src.length - i, this.seqLen - buf.fill)
      buf.tokens.set(src.subarray(i, i + n), buf.fill)
      buf.fill += n
      buf.counts.set(userId, (buf.counts.get(userId) ?? 0) + n)
      i += n
      if (buf.fill === this.seqLen) out.push(this.emit(buf))
    }
    if (this.perUser && buf.fill === 0) this.buffers.delete(key)
  }

  /** Adds one document (its tokens, then <eos>); returns the sequences it completed. */
  push(doc: TokenizedDocument): Array<Sequence> {
    const out: Array<Sequence> = []
    this.append(doc.user_id, doc.tokens, out)
    this.append(doc.user_id, this.eos, out)
    return out
  }

  /** Ends the stream: the partial sequences, padded (or none with remainder "drop"). */
  flush(): Array<Sequence> {
    const out: Array<Sequence> = []
    for (const buf of this.buffers.values()) if (buf.fill > 0 && this.pad) out.push(this.emit(buf))
    this.buffers.clear()
    return out
  }
}

/** Packs a stream of tokenized documents into sequences. */
export function* packSequences(docs: Iterable<TokenizedDocument>, config: PackConfig, ids: PackIds): Generator<Sequence> {
  const packer = new SequencePacker(config, ids)
  for (const d of docs) yield* packer.push(d)
  yield* packer.flush()
}

/** Packs an async stream (e.g. Parquet record batches flattened) into sequences. */
export async function* packSequencesAsync(
  docs: AsyncIterable<TokenizedDocument>,
  config: PackConfig,
  ids: PackIds
): AsyncGenerator<Sequence> {
  const packer = new SequencePacker(config, ids)
  for await (const d of docs) yield* packer.push(d)
  yield* packer.flush()
}

/** Tokenizes documents lazily. */
export function* tokenizeDocuments(docs: Iterable<Document>, tokenizer: TextEncoderLike): Generator<TokenizedDocument> {
  for (const d of docs) yield { user_id: d.user_id, tokens: tokenizer.encode(d.text) }
}
