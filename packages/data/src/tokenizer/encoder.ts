/**
 * Byte-level BPE encoding and decoding (GPT-2 scheme), identical in output to HF
 * tokenizers' BPE model with a ByteLevel pre-tokenizer (add_prefix_space false)
 * for text without special-token strings.
 *
 * Each pre-tokenized piece is turned into its UTF-8 bytes, then merged by the
 * lowest-ranked adjacent pair first (leftmost on ties) until no merge applies; a
 * min-heap over pair positions with a linked list makes this O(n log n) per piece,
 * as HF tokenizers' `Word::merge_all`. Pieces are cached.
 *
 * Losslessness: every byte has a token, so decodeBytes(encodeBytes(b)) == b for any
 * bytes, and decode(encode(s)) == s for any well-formed string (emoji included).
 * A JS string with lone UTF-16 surrogates has no UTF-8 form: such a surrogate is
 * encoded as U+FFFD (as TextEncoder does), so encode(s) == encode(toWellFormed(s)).
 *
 * Special tokens are never produced from text: a document containing "<eos>" is
 * encoded as those five characters (unlike HF tokenizers, which would match the
 * added token), so user text cannot inject a document boundary.
 */
import { byteToChar, tokenToBytes } from "@dpipe/data/tokenizer/byte-level"
import { TokenizerFormatError } from "@dpipe/data/tokenizer/errors"
import type { BpeModel } from "@dpipe/data/tokenizer/model"
import { pretokenize, segmentBytes } from "@dpipe/data/tokenizer/pretokenize"

const KEY_BASE = 1 << 20
const CACHE_LIMIT = 200_000
const utf8 = new TextEncoder()
const utf8Decoder = new TextDecoder("utf-8", { ignoreBOM: true }) // keep a leading U+FEFF: it is text

/** An encoder/decoder for one BPE model. */
export class BpeTokenizer {
  /** Size of the vocabulary (largest id + 1). */
  readonly vocabSize: number
  /** Id of <pad>. */
  readonly padId: number
  /** Id of <eos>. */
  readonly eosId: number
  private readonly rank = new Map<number, number>()
  private readonly result: Int32Array
  private readonly tokenBytes: ReadonlyArray<Uint8Array>
  private readonly isSpecial: Uint8Array
  private readonly byteId: Int32Array
  private cache = new Map<string, Int32Array>()

  readonly model: BpeModel

  constructor(model: BpeModel) {
    this.model = model
    const { tokens, specialCount, merges } = model
    this.vocabSize = tokens.length
    const pad = tokens.indexOf("<pad>"), eos = tokens.indexOf("<eos>")
    if (pad < 0 || pad >= specialCount || eos < 0 || eos >= specialCount) {
      throw new TokenizerFormatError({ message: "BPE model: special tokens <pad> and <eos> are required among the leading special tokens." })
    }
    this.padId = pad
    this.eosId = eos
    this.isSpecial = new Uint8Array(tokens.length)
    this.isSpecial.fill(1, 0, specialCount)
    const enc = new TextEncoder()
    const ids = new Map<string, number>()
    this.tokenBytes = tokens.map((t, i) => {
      if (i < specialCount) return enc.encode(t)
      ids.set(t, i)
      const b = tokenToBytes(t)
      if (b === undefined) throw new TokenizerFormatError({ message: `BPE model: token ${i} ${JSON.stringify(t)} is not a byte-level string.` })
      return b
    })
    this.byteId = new Int32Array(256)
    for (let b = 0; b < 256; b++) {
      const t = ids.get(byteToChar[b] as string)
      if (t === undefined) throw new TokenizerFormatError({ message: `BPE model: no token for byte ${b}; a byte-level vocabulary must contain all 256 bytes.` })
      this.byteId[b] = t
    }
    this.result = new Int32Array(merges.length)
    merges.forEach(([a, b], r) => {
      const key = a * KEY_BASE + b
      if (this.rank.has(key)) return
      const merged = (tokens[a] ?? "") + (tokens[b] ?? "")
      const id = ids.get(merged)
      if (id === undefined) throw new TokenizerFormatError({ message: `BPE model: merge ${r} gives ${JSON.stringify(merged)}, which is not in the vocabulary.` })
      this.rank.set(key, r)
      this.result[r] = id
    })
  }

  /** Token ids of the bytes of one pre-tokenized piece. */
  private mergeBytes(bytes: Uint8Array): Int32Array {
    const n = bytes.length
    const sym = new Int32Array(n)
    for (let i = 0; i < n; i++) sym[i] = this.byteId[bytes[i] as number] as number
    if (n < 2) return sym
    const next = new Int32Array(n), prev = new Int32Array(n), alive = new Uint8Array(n).fill(1)
    for (let i = 0; i < n; i++) {
      next[i] = i + 1 < n ? i + 1 : -1
      prev[i] = i - 1
    }
    // min-heap of (rank, pos), packed into one number: rank * 2^26 + pos (pieces < 64 MiB)
    const heap: Array<number> = []
    const POS = 1 << 26
    const push = (v: number): void => {
      heap.push(v)
      let i = heap.length - 1
      while (i > 0) {
        const p = (i - 1) >> 1
        if ((heap[p] as number) <= v) break
        heap[i] = heap[p] as number
        i = p
      }
      heap[i] = v
    }
    const pop = (): number => {
      const top = heap[0] as number
      const last = heap.pop() as number
      const len = heap.length
      if (len > 0) {
        let i = 0
        for (;;) {
          const l = 2 * i + 1
          if (l >= len) break
          const r = l + 1
          const c = r < len && (heap[r] as number) < (heap[l] as number) ? r : l
          if ((heap[c] as number) >= last) break
          heap[i] = heap[c] as number
          i = c
        }
        heap[i] = last
      }
      return top
    }
    const consider = (i: number): void => {
      const j = next[i] as number
      if (j < 0) return
      const r = this.rank.get((sym[i] as number) * KEY_BASE + (sym[j] as number))
      if (r !== undefined) push(r * POS + i)
    }
    for (let i = 0; i + 1 < n; i++) consider(i)
    while (heap.length > 0) {
      const v = pop()
      const r = Math.floor(v / POS), i = v - r * POS
      if (alive[i] === 0) continue
      const j = next[i] as number
      if (j < 0) continue
      if (this.rank.get((sym[i] as number) * KEY_BASE + (sym[j] as number)) !== r) continue
      sym[i] = this.result[r] as number
      alive[j] = 0
      const k = next[j] as number
      next[i] = k
      if (k >= 0) prev[k] = i
      const p = prev[i] as number
      if (p >= 0) consider(p)
      consider(i)
    }
    let count = 0
    for (let i = 0; i >= 0; i = next[i] as number) count++
    const out = new Int32Array(count)
    let o = 0
    for (let i = 0; i >= 0; i = next[i] as number) out[o++] = sym[i] as number
    return out
  }

  private encodePiece(piece: string): Int32Array {
    const hit = this.cache.get(piece)
    if (hit !== undefined) return hit
    const ids = this.mergeBytes(utf8.encode(piece))
    if (this.cache.size >= CACHE_LIMIT) this.cache = new Map()
    if (piece.length <= 64) this.cache.set(piece, ids)
    return ids
  }

  private appendText(text: string, out: IdBuffer): void {
    for (const piece of pretokenize(text)) out.append(this.encodePiece(piece))
  }

  /**
   * Token ids of a string (no special tokens added). A lone surrogate is encoded as
   * U+FFFD: it lands in a punctuation piece either way and UTF-8 encoding replaces it.
   */
  encode(text: string): Int32Array {
    const out = new IdBuffer(text.length >> 1)
    this.appendText(text, out)
    return out.result()
  }

  /** Token ids of arbitrary bytes: valid UTF-8 runs as text, stray bytes as byte tokens. */
  encodeBytes(bytes: Uint8Array): Int32Array {
    const out = new IdBuffer(bytes.length >> 1)
    for (const seg of segmentBytes(bytes)) {
      if ("text" in seg) this.appendText(seg.text, out)
      else out.append(Int32Array.of(this.byteId[seg.byte] as number))
    }
    return out.result()
  }

  /** The bytes of a token sequence; special tokens as their UTF-8 text unless skipSpecial. */
  decodeBytes(ids: ArrayLike<number>, skipSpecial = false): Uint8Array {
    let n = 0
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i] as number
      if (skipSpecial && this.isSpecial[id] === 1) continue
      const b = this.tokenBytes[id]
      if (b === undefined) throw new RangeError(`decode: token id ${id} is outside the vocabulary of size ${this.vocabSize}`)
      n += b.length
    }
    const out = new Uint8Array(n)
    let o = 0
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i] as number
      if (skipSpecial && this.isSpecial[id] === 1) continue
      const b = this.tokenBytes[id] as Uint8Array
      out.set(b, o)
      o += b.length
    }
    return out
  }

  /** The text of a token sequence (invalid UTF-8 shown as U+FFFD). */
  decode(ids: ArrayLike<number>, skipSpecial = false): string {
    return utf8Decoder.decode(this.decodeBytes(ids, skipSpecial))
  }
}

/** A growing Int32Array. */
class IdBuffer {
  private buf: Int32Array
  private n = 0
  constructor(capacity: number) {
    this.buf = new Int32Array(Math.max(16, capacity))
  }
  append(ids: Int32Array): void {
    if (this.n + ids.length > this.buf.length) {
      const grown = new Int32Array(Math.max(this.buf.length * 2, this.n + ids.length))
      grown.set(this.buf.subarray(0, this.n))
      this.buf = grown
    }
    this.buf.set(ids, this.n)
    this.n += ids.length
  }
  result(): Int32Array {
    return this.buf.slice(0, this.n)
  }
}
