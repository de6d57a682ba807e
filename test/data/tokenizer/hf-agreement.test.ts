import { describe, expect, it } from "vitest"
import { hfEncode, hfTokenizerFromJson } from "@dpipe/data/tokenizer/hf-library"
import { toTokenizerJson } from "@dpipe/data/tokenizer/hf-json"
import { loadSpamAssassin } from "@dpipe/data/spam-assassin"
import { messagesToDocuments } from "@dpipe/data/corpus"
import { newLoadStats } from "@dpipe/data/schema"
import { randomString, SeededRandom } from "./seeded-random.ts"
import { smallTokenizer } from "./fixture.ts"

const emailTexts = (n: number): Array<string> => {
  const out: Array<string> = []
  for (const d of messagesToDocuments(loadSpamAssassin({ groups: ["hard-ham-1"] }), newLoadStats())) {
    out.push(d.text)
    if (out.length >= n) break
  }
  return out
}

describe("agreement with HF tokenizers (the `tokenizers` library loading our tokenizer.json)", () => {
  const { result, tokenizer } = smallTokenizer()
  const hf = hfTokenizerFromJson(toTokenizerJson(result.model))

  it("encodes e-mail bodies to the same ids and decodes them to the same text", async () => {
    const texts = emailTexts(120)
    expect(texts.length).toBe(120)
    for (const text of texts) {
      const ours = Array.from(tokenizer.encode(text))
      const theirs = await hfEncode(hf, text)
      expect(ours).toEqual(theirs)
      expect(await hf.decode(ours, false)).toBe(text)
    }
  })

  it("encodes arbitrary Unicode strings to the same ids (without special-token text)", async () => {
    const r = new SeededRandom(4242)
    for (let i = 0; i < 400; i++) {
      const s = randomString(r, 40).replaceAll("<eos>", "<e0s>").replaceAll("<pad>", "<p4d>")
      expect(Array.from(tokenizer.encode(s))).toEqual(await hfEncode(hf, s))
    }
  })

  it("agrees on the vocabulary and special ids", () => {
    expect(hf.getVocabSize(true)).toBe(tokenizer.vocabSize)
    expect(hf.tokenToId("<eos>")).toBe(tokenizer.eosId)
    expect(hf.tokenToId("<pad>")).toBe(tokenizer.padId)
  })
})
