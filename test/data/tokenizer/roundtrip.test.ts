import { describe, expect, it } from "vitest"
import { randomBytes, randomString, SeededRandom } from "./seeded-random.ts"
import { smallTokenizer } from "./fixture.ts"

describe("byte-level BPE round trip", () => {
  const { tokenizer } = smallTokenizer()

  it("decode(encode(s)) == s for arbitrary well-formed strings (property, 3000 cases)", () => {
    const r = new SeededRandom(20240611)
    for (let i = 0; i < 3000; i++) {
      const s = randomString(r, i % 10 === 0 ? 400 : 40)
      const ids = tokenizer.encode(s)
      const back = tokenizer.decode(ids)
      if (back !== s) expect({ s, back }).toEqual({ s, back: s })
      if (!ids.every((id) => id >= 2 && id < tokenizer.vocabSize)) expect.unreachable(`special or out-of-range id for ${JSON.stringify(s)}`)
    }
  })

  it("decodeBytes(encodeBytes(b)) == b for arbitrary bytes, invalid UTF-8 included (property, 3000 cases)", () => {
    const r = new SeededRandom(7)
    for (let i = 0; i < 3000; i++) {
      const b = randomBytes(r, 64)
      const back = tokenizer.decodeBytes(tokenizer.encodeBytes(b))
      expect(Buffer.from(back).equals(Buffer.from(b))).toBe(true)
    }
  })

  it("encodes valid UTF-8 bytes exactly like the string they spell", () => {
    const r = new SeededRandom(99)
    for (let i = 0; i < 500; i++) {
      const s = randomString(r, 60)
      expect(Array.from(tokenizer.encodeBytes(new TextEncoder().encode(s)))).toEqual(Array.from(tokenizer.encode(s)))
    }
  })

  it("handles emoji, ZWJ sequences, flags, combining marks and long runs", () => {
    for (const s of ["👍🏽 ok", "👩‍👩‍👧‍👦", "🇫🇷🇩🇪", "e\u0301\u0302", "x".repeat(50_000), " ".repeat(10_000) + "a", "=".repeat(3000), ""]) {
      expect(tokenizer.decode(tokenizer.encode(s))).toBe(s)
    }
  })

  it("maps lone surrogates to U+FFFD, as UTF-8 must (they have no UTF-8 form)", () => {
    const s = "a\uD800b\uDC00c"
    expect(tokenizer.decode(tokenizer.encode(s))).toBe("a\uFFFDb\uFFFDc")
    expect(Array.from(tokenizer.encode(s))).toEqual(Array.from(tokenizer.encode("a\uFFFDb\uFFFDc")))
  })

  it("never produces special tokens from text, and decodes them on request", () => {
    const ids = tokenizer.encode("end<eos><pad>")
    expect(Array.from(ids)).not.toContain(tokenizer.eosId)
    expect(Array.from(ids)).not.toContain(tokenizer.padId)
    expect(tokenizer.decode(ids)).toBe("end<eos><pad>")
    const withEos = Int32Array.from([...tokenizer.encode("hi"), tokenizer.eosId])
    expect(tokenizer.decode(withEos)).toBe("hi<eos>")
    expect(tokenizer.decode(withEos, true)).toBe("hi")
    expect(() => tokenizer.decode([tokenizer.vocabSize])).toThrow(/outside the vocabulary/)
  })
})
