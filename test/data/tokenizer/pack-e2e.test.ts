import { describe, expect, it } from "vitest"
import { messagesToDocuments } from "@dpipe/data/corpus"
import { packSequences, tokenizeDocuments } from "@dpipe/data/pack"
import { newLoadStats } from "@dpipe/data/schema"
import { loadSpamAssassin } from "@dpipe/data/spam-assassin"
import { smallTokenizer } from "./fixture.ts"

describe("tokenize and pack real e-mail", () => {
  it("packs documents + <eos> into full sequences that decode back to the documents", () => {
    const { tokenizer } = smallTokenizer()
    const docs = [...messagesToDocuments(loadSpamAssassin({ groups: ["hard-ham-1"] }), newLoadStats())].slice(0, 60)
    const seqs = [...packSequences(tokenizeDocuments(docs, tokenizer), { seqLen: 128 }, tokenizer)]
    for (const s of seqs) expect(s.tokens.length).toBe(128)
    const all = seqs.flatMap((s) => Array.from(s.tokens))
    let end = all.length
    while (all[end - 1] === tokenizer.padId) end--
    expect(end).toBeGreaterThan(all.length - 128)
    expect(tokenizer.decode(all.slice(0, end))).toBe(docs.map((d) => `${d.text}<eos>`).join(""))
    const users = new Set(docs.map((d) => d.user_id))
    for (const s of seqs) expect(users.has(s.user_id)).toBe(true)
  })
})
