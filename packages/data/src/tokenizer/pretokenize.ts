/**
 * GPT-2 pre-tokenization: the text is cut into pieces (words with their leading
 * space, numbers, punctuation runs, whitespace runs) and BPE merges never cross a
 * piece boundary. The pattern is GPT-2's (openai/gpt-2 encoder.py), the one HF
 * tokenizers' `ByteLevel` pre-tokenizer uses with `use_regex: true`:
 *
 *   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 *
 * `\s` is written as \p{White_Space} so that it means what the Rust regex engine of
 * HF tokenizers means (JS `\s` also matches U+FEFF and misses U+0085).
 *
 * Arbitrary bytes: maximal valid UTF-8 runs are pre-tokenized as text; each byte that
 * is not part of valid UTF-8 becomes a piece of its own.
 */

/** GPT-2's pre-tokenization pattern (global, Unicode). Every character belongs to some match. */
export const GPT2_PATTERN =
  /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\p{White_Space}\p{L}\p{N}]+|\p{White_Space}+(?!\P{White_Space})|\p{White_Space}+/gu

/** The pieces of a string, in order; their concatenation is the string. */
export const pretokenize = (text: string): Array<string> => text.match(GPT2_PATTERN) ?? []

/** Length of the valid UTF-8 sequence starting at i (1..4), or 0 if bytes[i] does not start one. */
export const utf8SequenceLength = (bytes: Uint8Array, i: number): number => {
  const b0 = bytes[i] as number
  if (b0 < 0x80) return 1
  const cont = (k: number): boolean => i + k < bytes.length && ((bytes[i + k] as number) & 0xc0) === 0x80
  if (b0 >= 0xc2 && b0 <= 0xdf) return cont(1) ? 2 : 0
  if (b0 >= 0xe0 && b0 <= 0xef) {
    if (!cont(1) || !cont(2)) return 0
    const b1 = bytes[i + 1] as number
    if (b0 === 0xe0 && b1 < 0xa0) return 0 // overlong
    if (b0 === 0xed && b1 >= 0xa0) return 0 // UTF-16 surrogate
    return 3
  }
  if (b0 >= 0xf0 && b0 <= 0xf4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0
    const b1 = bytes[i + 1] as number
    if (b0 === 0xf0 && b1 < 0x90) return 0 // overlong
    if (b0 === 0xf4 && b1 >= 0x90) return 0 // above U+10FFFF
    return 4
  }
  return 0
}

/** A segment of a byte string: a valid UTF-8 run (as text) or one stray byte. */
export type ByteSegment = { readonly text: string } | { readonly byte: number }

const decoder = new TextDecoder("utf-8", { ignoreBOM: true })

/** Splits bytes into maximal valid UTF-8 runs and stray bytes, in order. */
export const segmentBytes = (bytes: Uint8Array): Array<ByteSegment> => {
  const out: Array<ByteSegment> = []
  let start = 0
  let i = 0
  while (i < bytes.length) {
    const len = utf8SequenceLength(bytes, i)
    if (len > 0) {
      i += len
      continue
    }
    if (i > start) out.push({ text: decoder.decode(bytes.subarray(start, i)) })
    out.push({ byte: bytes[i] as number })
    i++
    start = i
  }
  if (i > start) out.push({ text: decoder.decode(bytes.subarray(start, i)) })
  return out
}

/** Replaces lone UTF-16 surrogates with U+FFFD (what UTF-8 encoding does anyway). */
export const toWellFormed = (s: string): string => s.replace(/\p{Cs}/gu, "\uFFFD")
