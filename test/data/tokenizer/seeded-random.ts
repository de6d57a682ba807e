/**
 * A small seeded generator for property tests (fast-check is not installed):
 * SplitMix32-style mixing (Steele, Lea & Flood 2014, "Fast splittable pseudorandom
 * number generators"), plus generators of arbitrary strings and bytes.
 */

/** Deterministic uniform numbers from a 32-bit seed. */
export class SeededRandom {
  private state: number
  constructor(seed: number) {
    this.state = seed >>> 0
  }
  /** A uniform 32-bit unsigned integer. */
  next(): number {
    this.state = (this.state + 0x9e3779b9) >>> 0
    let z = this.state
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0
    return (z ^ (z >>> 16)) >>> 0
  }
  /** A uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor((this.next() / 4294967296) * n)
  }
  /** One element of a non-empty list. */
  pick<T>(xs: ReadonlyArray<T>): T {
    return xs[this.int(xs.length)] as T
  }
}

const RANGES: ReadonlyArray<readonly [number, number]> = [
  [0x20, 0x7e], // ASCII printable
  [0x00, 0x1f], // controls
  [0x80, 0xff], // Latin-1
  [0x100, 0x24f], // Latin extended
  [0x300, 0x36f], // combining marks
  [0x370, 0x3ff], // Greek
  [0x400, 0x4ff], // Cyrillic
  [0x590, 0x6ff], // Hebrew, Arabic
  [0x900, 0x97f], // Devanagari
  [0x2000, 0x206f], // general punctuation, odd spaces
  [0x3000, 0x30ff], // CJK punctuation, kana
  [0x4e00, 0x9fff], // CJK
  [0xac00, 0xd7a3], // Hangul
  [0xe000, 0xf8ff], // private use
  [0xfe00, 0xfeff], // variation selectors, BOM
  [0x1f300, 0x1faff], // emoji
  [0x10000, 0x10ffff] // any astral code point
]
const SNIPPETS = [" ", "  ", "\n", "\r\n", "\t", "'s", "'ll", " 's", "123", "4827 1937 2212", "<eos>", "<pad>", "👩‍👩‍👧", "🇫🇷", "é", "é", "\u0085", "\u00a0", "\u2028", "\ufeff", "=20", "&nbsp;"]

/** An arbitrary well-formed string of up to maxLen code points, mixing scripts, emoji, whitespace and snippets. */
export const randomString = (r: SeededRandom, maxLen: number): string => {
  const n = r.int(maxLen + 1)
  let s = ""
  for (let i = 0; i < n; i++) {
    if (r.int(6) === 0) {
      s += r.pick(SNIPPETS)
      continue
    }
    const [lo, hi] = r.pick(RANGES)
    let cp = lo + r.int(hi - lo + 1)
    if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xfffd
    s += String.fromCodePoint(cp)
  }
  return s
}

/** Arbitrary bytes: uniform, or UTF-8 text with random corruption. */
export const randomBytes = (r: SeededRandom, maxLen: number): Uint8Array => {
  if (r.int(2) === 0) {
    const b = new Uint8Array(r.int(maxLen + 1))
    for (let i = 0; i < b.length; i++) b[i] = r.int(256)
    return b
  }
  const b = new TextEncoder().encode(randomString(r, maxLen))
  for (let k = r.int(4); k > 0 && b.length > 0; k--) b[r.int(b.length)] = r.int(256)
  return b.length > 0 && r.int(2) === 0 ? b.subarray(0, r.int(b.length)) : b // maybe cut inside a character
}
