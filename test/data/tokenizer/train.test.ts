import { describe, expect, it } from "vitest"
import { trainBpe, trainBpeFromCounts, countPieces } from "@dpipe/data/tokenizer/train"
import { BpeTokenizer } from "@dpipe/data/tokenizer/encoder"
import { fromTokenizerJson, toTokenizerJson, tokenizerFromJson } from "@dpipe/data/tokenizer/hf-json"
import { publicSample, smallTokenizer } from "./fixture.ts"

describe("BPE trainer", () => {
  it("reaches the requested vocabulary size with <pad>=0, <eos>=1 and the 256 bytes", () => {
    const { result, tokenizer } = smallTokenizer()
    expect(result.exhausted).toBe(false)
    expect(result.model.tokens.length).toBe(2048)
    expect(tokenizer.vocabSize).toBe(2048)
    expect(tokenizer.padId).toBe(0)
    expect(tokenizer.eosId).toBe(1)
    expect(result.model.tokens[0]).toBe("<pad>")
    expect(new Set(result.model.tokens).size).toBe(2048)
    // frequent English merges are learned first
    const first = result.model.merges.slice(0, 10).map(([a, b]) => `${result.model.tokens[a]}${result.model.tokens[b]}`)
    expect(first).toContain("Ġt")
    expect(first).toContain("he")
  })

  it("compresses English text to far fewer tokens than bytes", () => {
    const { tokenizer } = smallTokenizer()
    const text = publicSample(21_000).slice(20_000).join(" ")
    const ratio = Buffer.byteLength(text) / tokenizer.encode(text).length
    expect(ratio).toBeGreaterThan(2.5)
  })

  it("is deterministic and learns merges greedily in order (prefix property)", () => {
    const texts = publicSample(3000)
    const counts = countPieces(texts)
    const big = trainBpeFromCounts(counts, { vocabSize: 700 })
    const again = trainBpe(texts, { vocabSize: 700 })
    expect(again.model).toEqual(big.model)
    const small = trainBpeFromCounts(counts, { vocabSize: 400 })
    expect(big.model.merges.slice(0, small.model.merges.length)).toEqual(small.model.merges)
  })

  it("stops when the corpus runs out of pairs and says so", () => {
    const r = trainBpe(["abab abab", "cd"], { vocabSize: 1000 })
    expect(r.exhausted).toBe(true)
    expect(r.model.tokens.length).toBeLessThan(1000)
  })

  it("rejects impossible configurations with a typed error", () => {
    for (const cfg of [{ vocabSize: 100 }, { vocabSize: 5000, specialTokens: ["<eos>"] }, { vocabSize: 2 ** 21 }]) {
      try {
        trainBpe(["x"], cfg)
        expect.unreachable()
      } catch (e) {
        expect((e as { _tag?: string })._tag).toBe("TokenizerConfigError")
      }
    }
  })

  it("round-trips through HF tokenizer.json", () => {
    const { result } = smallTokenizer()
    const json = toTokenizerJson(result.model)
    expect(fromTokenizerJson(json)).toEqual(result.model)
    const parsed = JSON.parse(json) as { model: { type: string; merges: unknown[] }; added_tokens: Array<{ content: string; special: boolean }> }
    expect(parsed.model.type).toBe("BPE")
    expect(parsed.model.merges.length).toBe(result.model.merges.length)
    expect(parsed.added_tokens.map((t) => t.content)).toEqual(["<pad>", "<eos>"])
    const t = tokenizerFromJson(json)
    expect(Array.from(t.encode("Hello, world!"))).toEqual(Array.from(new BpeTokenizer(result.model).encode("Hello, world!")))
    for (const bad of ["{", "{}", JSON.stringify({ model: { type: "Unigram" } })]) {
      expect(() => fromTokenizerJson(bad)).toThrow(/tokenizer.json/)
    }
  })
})
