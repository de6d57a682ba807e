/**
 * Byte-level BPE training (Sennrich et al. 2016; GPT-2 byte-level variant, Radford et
 * al. 2019), written to match HF tokenizers' BpeTrainer:
 *   1. pre-tokenize every text with the GPT-2 pattern and count distinct pieces;
 *   2. start from the 256 bytes; repeatedly merge the most frequent adjacent pair
 *      (ties: smallest pair of ids), updating pair counts incrementally only in the
 *      words that contain the merged pair, with a lazily-updated max-heap.
 * Cost is about O(total distinct-word length + merges * affected words), so a 4096
 * vocabulary on ~15 MB of text takes seconds on one core.
 *
 * Why not HF tokenizers' own trainer: its Node binding (0.23.2) exposes only
 * `train(files)` with the default trainer (vocabulary 30000, no special tokens), so it
 * cannot give the 4096 / 32768 / 256000 vocabularies. The HF library is used instead
 * to cross-check encodings of the tokenizer.json written here (hf-library.ts).
 *
 * Privacy (docs/privacy.md, P9): train only on PUBLIC text. The tokenizer is released
 * with the model, and its merges memorize frequent strings of its training data.
 */
import { PairHeap } from "@dpipe/data/tokenizer/heap"
import { byteToChar } from "@dpipe/data/tokenizer/byte-level"
import { DEFAULT_SPECIAL_TOKENS, type BpeModel, type BpeTrainConfig } from "@dpipe/data/tokenizer/model"
import { pretokenize } from "@dpipe/data/tokenizer/pretokenize"
import { TokenizerConfigError } from "@dpipe/data/tokenizer/errors"

/** Largest vocabulary the pair-key packing supports. */
export const MAX_VOCAB_SIZE = 1 << 20
const KEY_BASE = MAX_VOCAB_SIZE

/** Adds the pre-tokenized pieces of each text to a piece -> count table. */
export const countPieces = (texts: Iterable<string>, counts: Map<string, number> = new Map()): Map<string, number> => {
  for (const text of texts) {
    for (const piece of pretokenize(text)) counts.set(piece, (counts.get(piece) ?? 0) + 1)
  }
  return counts
}

/** Result of training: the model and whether the corpus ran out of pairs before the target size. */
export interface TrainResult {
  readonly model: BpeModel
  /** True when no pair reached minFrequency before vocabSize was reached (the vocabulary is smaller). */
  readonly exhausted: boolean
}

/**
 * Trains a byte-level BPE model on public texts.
 *
 * @throws TokenizerConfigError if vocabSize cannot hold the specials and 256 bytes, or exceeds MAX_VOCAB_SIZE
 */
export const trainBpe = (texts: Iterable<string>, config: BpeTrainConfig): TrainResult =>
  trainBpeFromCounts(countPieces(texts), config)

/** Trains from a piece -> count table (see countPieces). */
export const trainBpeFromCounts = (counts: ReadonlyMap<string, number>, config: BpeTrainConfig): TrainResult => {
  const specials = config.specialTokens ?? DEFAULT_SPECIAL_TOKENS
  const minFrequency = config.minFrequency ?? 2
  for (const required of ["<pad>", "<eos>"]) {
    if (!specials.includes(required)) {
      throw new TokenizerConfigError({ message: `BPE trainer: special tokens must include "${required}", got ${JSON.stringify(specials)}.` })
    }
  }
  if (new Set(specials).size !== specials.length) {
    throw new TokenizerConfigError({ message: `BPE trainer: special tokens must be distinct, got ${JSON.stringify(specials)}.` })
  }
  const base = specials.length + 256
  if (!Number.isInteger(config.vocabSize) || config.vocabSize < base || config.vocabSize > MAX_VOCAB_SIZE) {
    throw new TokenizerConfigError({ message: `BPE trainer: vocabSize must be an integer in [${base}, ${MAX_VOCAB_SIZE}] (specials + 256 bytes at least), got ${config.vocabSize}.` })
  }
  const specialSet = new Set(specials)

  // Internal ids: 0..255 bytes, then merged tokens; final id = internal id + specials.length.
  const strings: Array<string> = byteToChar.slice()
  const idOf = new Map<string, number>(strings.map((s, i) => [s, i]))
  const merges: Array<readonly [number, number]> = []

  const encoder = new TextEncoder()
  const words: Array<Array<number>> = []
  const freq: Array<number> = []
  for (const [piece, c] of counts) {
    words.push(Array.from(encoder.encode(piece)))
    freq.push(c)
  }

  const pairCount = new Map<number, number>()
  const pairWords = new Map<number, Array<number>>()
  const addWord = (key: number, w: number): void => {
    const list = pairWords.get(key)
    if (list === undefined) pairWords.set(key, [w])
    else if (list[list.length - 1] !== w) list.push(w)
  }
  for (let w = 0; w < words.length; w++) {
    const sym = words[w] as Array<number>
    const c = freq[w] as number
    for (let i = 0; i + 1 < sym.length; i++) {
      const key = (sym[i] as number) * KEY_BASE + (sym[i + 1] as number)
      pairCount.set(key, (pairCount.get(key) ?? 0) + c)
      addWord(key, w)
    }
  }
  const heap = new PairHeap()
  for (const [key, c] of pairCount) heap.push(c, key)

  const seen = new Int32Array(words.length).fill(-1)
  const delta = new Map<number, number>()
  let vocab = specials.length + 256
  let exhausted = false
  while (vocab < config.vocabSize) {
    const top = heap.pop()
    if (top === undefined) {
      exhausted = true
      break
    }
    const [stale, key] = top
    const current = pairCount.get(key) ?? 0
    if (current !== stale) {
      if (current > 0) heap.push(current, key)
      continue
    }
    if (current < minFrequency) {
      exhausted = true
      break
    }
    const a = Math.floor(key / KEY_BASE), b = key % KEY_BASE
    const merged = (strings[a] as string) + (strings[b] as string)
    pairCount.delete(key)
    const affected = pairWords.get(key) ?? []
    pairWords.delete(key)
    if (specialSet.has(merged)) continue // never let text produce a special token's string
    let id = idOf.get(merged)
    if (id === undefined) {
      id = strings.length
      strings.push(merged)
      idOf.set(merged, id)
      vocab++
    }
    merges.push([a, b])

    delta.clear()
    const bump = (k: number, d: number): void => {
      delta.set(k, (delta.get(k) ?? 0) + d)
    }
    const step = merges.length
    for (const w of affected) {
      if (seen[w] === step) continue
      seen[w] = step
      const sym = words[w] as Array<number>
      const c = freq[w] as number
      let i = 0
      while (i + 1 < sym.length) {
        if (sym[i] === a && sym[i + 1] === b) {
          if (i > 0) {
            const p = sym[i - 1] as number
            bump(p * KEY_BASE + a, -c)
            bump(p * KEY_BASE + id, c)
            addWord(p * KEY_BASE + id, w)
          }
          sym.splice(i, 2, id)
          if (i + 1 < sym.length) {
            const n = sym[i + 1] as number
            bump(b * KEY_BASE + n, -c)
            bump(id * KEY_BASE + n, c)
            addWord(id * KEY_BASE + n, w)
          }
        }
        i++
      }
    }
    for (const [k, d] of delta) {
      if (d === 0) continue
      const c = (pairCount.get(k) ?? 0) + d
      if (c > 0) pairCount.set(k, c)
      else pairCount.delete(k)
      if (d > 0) heap.push(c, k)
    }
  }

  const offset = specials.length
  return {
    model: {
      tokens: [...specials, ...strings],
      specialCount: offset,
      merges: merges.map(([x, y]) => [x + offset, y + offset] as const)
    },
    exhausted
  }
}
