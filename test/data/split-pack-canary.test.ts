import { describe, expect, it } from "vitest"
import { splitDocuments, userSplit } from "@dpipe/data/split"
import { packSequences, packSequencesAsync, SequencePacker } from "@dpipe/data/pack"
import { insertCanaries, planCanaries, randomSecret, renderCanary, secretSpaceSize, DEFAULT_CANARY_FORMAT, type CanaryRecord } from "@dpipe/data/canary"
import { keyedStream } from "@dpipe/random/keyed-random"
import type { Document, Sequence } from "@dpipe/data/schema"

const docs: Array<Document> = Array.from({ length: 3000 }, (_, i) => ({
  doc_id: `d${i}`,
  user_id: `user${i % 400}`,
  text: `document ${i}\nsecond line of ${i}\nthird`,
  bytes: 0
}))

describe("user-level split", () => {
  const cfg = { seed: 1234, evalFraction: 0.1 }
  it("puts no eval user in train, and covers every document once", () => {
    const train = [...splitDocuments(docs, cfg, "train")]
    const evalDocs = [...splitDocuments(docs, cfg, "eval")]
    expect(train.length + evalDocs.length).toBe(docs.length)
    const trainUsers = new Set(train.map((d) => d.user_id))
    const evalUsers = new Set(evalDocs.map((d) => d.user_id))
    for (const u of evalUsers) expect(trainUsers.has(u)).toBe(false)
    // about 10% of 400 users (binomial sd ~6)
    expect(evalUsers.size).toBeGreaterThan(15)
    expect(evalUsers.size).toBeLessThan(65)
  })

  it("is stable with the same seed and different with another", () => {
    const users = Array.from({ length: 400 }, (_, i) => `user${i}`)
    const a = users.map((u) => userSplit(u, cfg))
    expect(users.map((u) => userSplit(u, { ...cfg }))).toEqual(a)
    expect(users.map((u) => userSplit(u, { seed: 1235, evalFraction: 0.1 }))).not.toEqual(a)
    expect(users.map((u) => userSplit(u, { seed: "1234", evalFraction: 0.1 }))).toEqual(a)
    expect(() => userSplit("x", { seed: 1, evalFraction: 1.5 })).toThrow(/evalFraction/)
  })
})

describe("sequence packing", () => {
  const ids = { eosId: 1, padId: 0 }
  const tok = (n: number, base: number) => Int32Array.from({ length: n }, (_, i) => base + i)

  it("concatenates documents with EOS into full sequences, padding only the last (mixed)", () => {
    const input = [
      { user_id: "a", tokens: tok(5, 100) },
      { user_id: "b", tokens: tok(9, 200) },
      { user_id: "a", tokens: tok(2, 300) }
    ]
    const seqs = [...packSequences(input, { seqLen: 8 }, ids)]
    expect(seqs.map((s) => Array.from(s.tokens))).toEqual([
      [100, 101, 102, 103, 104, 1, 200, 201],
      [202, 203, 204, 205, 206, 207, 208, 1],
      [300, 301, 1, 0, 0, 0, 0, 0]
    ])
    expect(seqs.map((s) => s.seq_id)).toEqual([0, 1, 2])
    expect(seqs.map((s) => s.user_id)).toEqual(["a", "b", "a"])
    expect([...packSequences(input, { seqLen: 8, remainder: "drop" }, ids)].length).toBe(2)
  })

  it("never mixes users in per-user mode and loses no token", () => {
    const input = Array.from({ length: 200 }, (_, i) => ({ user_id: `u${i % 7}`, tokens: tok(1 + (i * 37) % 50, 1000 * i + 2) }))
    const seqs = [...packSequences(input, { seqLen: 16, mode: "per-user" }, { ...ids, firstSeqId: 10 })]
    const byUser = new Map<string, Array<number>>()
    for (const s of seqs) {
      expect(s.tokens.length).toBe(16)
      const real = Array.from(s.tokens).filter((t) => t !== 0)
      byUser.set(s.user_id, [...(byUser.get(s.user_id) ?? []), ...real])
    }
    for (let u = 0; u < 7; u++) {
      const expected = input.filter((d) => d.user_id === `u${u}`).flatMap((d) => [...d.tokens, 1])
      expect(byUser.get(`u${u}`)).toEqual(expected)
    }
    expect(seqs[0]?.seq_id).toBe(10)
    expect(new Set(seqs.map((s) => s.seq_id)).size).toBe(seqs.length)
  })

  it("streams: sequences come out as soon as they are full; async input works", async () => {
    const packer = new SequencePacker({ seqLen: 4 }, ids)
    expect(packer.push({ user_id: "a", tokens: tok(2, 5) }).length).toBe(0)
    expect(packer.push({ user_id: "a", tokens: tok(10, 5) }).length).toBe(3)
    async function* gen() {
      yield { user_id: "a", tokens: tok(7, 5) }
    }
    const out: Array<Sequence> = []
    for await (const s of packSequencesAsync(gen(), { seqLen: 4 }, ids)) out.push(s)
    expect(out.map((s) => Array.from(s.tokens))).toEqual([[5, 6, 7, 8], [9, 10, 11, 1]])
    expect(() => new SequencePacker({ seqLen: 1 }, ids)).toThrow(/seqLen/)
  })
})

describe("canaries", () => {
  const key = new Uint8Array(32).fill(7)

  it("plans K distinct secrets of the format, r copies each, reproducibly", () => {
    const plan = planCanaries(key, { count: 10, repeats: 3 }, 500)
    expect(plan.canaries.length).toBe(10)
    expect(new Set(plan.canaries.map((c) => c.secret)).size).toBe(10)
    for (const c of plan.canaries) expect(c.sentence).toMatch(/^my account number is \d{4} \d{4} \d{4}$/)
    expect(plan.placements.length).toBe(30)
    for (const p of plan.placements) expect(p.docIndex >= 0 && p.docIndex < 500).toBe(true)
    expect(planCanaries(key, { count: 10, repeats: 3 }, 500)).toEqual(plan)
    expect(planCanaries(new Uint8Array(32).fill(8), { count: 10, repeats: 3 }, 500)).not.toEqual(plan)
    expect(secretSpaceSize(DEFAULT_CANARY_FORMAT)).toBe(1e12)
    expect(renderCanary(DEFAULT_CANARY_FORMAT, "482719372212")).toBe("my account number is 4827 1937 2212")
    expect(randomSecret(DEFAULT_CANARY_FORMAT, keyedStream(key, "candidates", 0))).toMatch(/^\d{12}$/)
    expect(() => planCanaries(key, { count: 1, repeats: 1 }, 0)).toThrow(/no training documents/)
  })

  it("inserts every copy into the planned documents and records where", () => {
    const plan = planCanaries(key, { count: 5, repeats: 4 }, 50)
    const records: Array<CanaryRecord> = []
    const out = [...insertCanaries(docs.slice(0, 50), plan, records)]
    expect(out.length).toBe(50)
    expect(records.length).toBe(20)
    for (const r of records) {
      const d = out.find((x) => x.doc_id === r.doc_id) as Document
      expect(d.text.slice(r.char_offset, r.char_offset + r.sentence.length)).toBe(r.sentence)
      expect(r.user_id).toBe(d.user_id)
      expect(d.bytes).toBe(Buffer.byteLength(d.text))
    }
    let occurrences = 0
    for (const c of plan.canaries) for (const d of out) occurrences += d.text.split(c.sentence).length - 1
    expect(occurrences).toBe(20)
    // the original text is kept, with the canaries on their own lines
    const touched = out.find((d) => d.text.includes("my account"))
    const original = docs.find((d) => d.doc_id === touched?.doc_id)
    expect(touched?.text.split("\n").filter((l) => !l.startsWith("my account")).join("\n")).toBe(original?.text)
  })
})
