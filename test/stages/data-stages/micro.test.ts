/**
 * The data stages at the micro scale (a few hundred messages, vocabulary 512,
 * 64-token sequences): what the packed sequences hold, canaries, user-level split,
 * and the failures a user meets first (missing file, exhausted tokenizer corpus).
 */
import { readFileSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Effect, Exit, Schema, Stream } from "effect"
import { Pipeline, type Row } from "@dpipe/dsl"
import { runPipeline, type RunSummary } from "@dpipe/runtime"
import { Canaries, CanaryInfo, corpus, CorpusReport, Documents, publicCorpus, Sequences, split, tokenizer, TokenizerReport } from "@dpipe/stages/data-stages/index"
import { tokenizerFromJson } from "@dpipe/data/tokenizer/hf-json"
import type { BpeTokenizer } from "@dpipe/data/tokenizer/encoder"
import dataTiny from "../../../pipelines/data-tiny.ts"
import { ok, outputPath, readJson, readTable, tempDir, withStubServices } from "./helpers.ts"

const dirs: Array<string> = []
const temp = (): string => {
  const d = tempDir()
  dirs.push(d)
  return d
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

/** Splits a sequence table's tokens at <eos> (dropping the final padding) and decodes each document. */
const decodeDocuments = (tok: BpeTokenizer, seqs: ReadonlyArray<Row<typeof Sequences>>): Array<string> => {
  const all: Array<number> = []
  for (const s of [...seqs].sort((a, b) => a.seq_id - b.seq_id)) for (const id of s.tokens) all.push(id)
  while (all.length > 0 && all[all.length - 1] === tok.padId) all.pop()
  const docs: Array<string> = []
  let start = 0
  for (let i = 0; i < all.length; i++) {
    if (all[i] === tok.eosId) {
      docs.push(tok.decode(all.slice(start, i)))
      start = i + 1
    }
  }
  expect(start).toBe(all.length) // the last document ends with <eos>
  return docs
}

/** Removes the recorded canary copies from a document's text (inverse of the insertion). */
const withoutCanaries = (text: string, records: ReadonlyArray<Row<typeof Canaries>>): string => {
  let t = text
  for (const r of [...records].sort((a, b) => b.char_offset - a.char_offset)) {
    expect(t.slice(r.char_offset, r.char_offset + r.sentence.length)).toBe(r.sentence)
    const sep = r.char_offset > 0 ? 1 : 0
    t = t.slice(0, r.char_offset - sep) + t.slice(r.char_offset + r.sentence.length)
  }
  return t
}

describe("data-tiny at the micro scale", () => {
  const store = temp()
  let summary: RunSummary

  beforeAll(async () => {
    summary = ok(await Effect.runPromiseExit(runPipeline(dataTiny, { store, runId: "micro", scale: "micro" })))
  })

  it("runs every stage and reports the load", () => {
    expect([...summary.executed].sort()).toEqual(["corpus", "pack", "public-corpus", "split", "tokenizer"])
    const report = Schema.decodeUnknownSync(CorpusReport)(readJson(outputPath(store, summary, "corpus", "report.json")))
    expect(report.read).toBe(250)
    expect(report.kept + report.duplicates + report.malformed).toBe(report.read)
    expect(report.truncated).toBe(false)
    const tokReport = Schema.decodeUnknownSync(TokenizerReport)(readJson(outputPath(store, summary, "tokenizer", "report.json")))
    expect(tokReport).toMatchObject({ requestedVocabSize: 512, vocabSize: 512, exhausted: false, texts: 20_000 })
  })

  it("packs sequences that decode back to the documents; no eval user in train; canaries in place", async () => {
    const kept = Schema.decodeUnknownSync(CorpusReport)(readJson(outputPath(store, summary, "corpus", "report.json"))).kept
    const tok = tokenizerFromJson(readFileSync(outputPath(store, summary, "tokenizer", "tokenizer.json"), "utf8"))
    expect(tok.vocabSize).toBe(512)
    const train = await readTable(outputPath(store, summary, "split", "train_documents.parquet"), Documents)
    const evalDocs = await readTable(outputPath(store, summary, "split", "eval_documents.parquet"), Documents)
    expect(train.length + evalDocs.length).toBe(kept)
    expect(evalDocs.length).toBeGreaterThan(0)

    // User-level split: disjoint users.
    const trainUsers = new Set(train.map((d) => d.user_id))
    const evalUsers = new Set(evalDocs.map((d) => d.user_id))
    for (const u of evalUsers) expect(trainUsers.has(u)).toBe(false)

    const trainSeqs = await readTable(outputPath(store, summary, "pack", "train_sequences.parquet"), Sequences)
    const evalSeqs = await readTable(outputPath(store, summary, "pack", "eval_sequences.parquet"), Sequences)
    const badLength = [...trainSeqs, ...evalSeqs].filter((s) => s.tokens.length !== 64)
    expect(badLength).toEqual([])
    const outOfRange = [...trainSeqs, ...evalSeqs].filter((s) => s.tokens.some((id) => id < 0 || id >= tok.vocabSize))
    expect(outOfRange).toEqual([])
    for (const s of trainSeqs) expect(evalUsers.has(s.user_id)).toBe(false)
    for (const s of evalSeqs) expect(evalUsers.has(s.user_id)).toBe(true)

    // Canaries: 3 x 2 copies, recorded (private table) and present in the train sequences.
    const canaries = await readTable(outputPath(store, summary, "pack", "canaries.parquet"), Canaries)
    const info = Schema.decodeUnknownSync(CanaryInfo)(readJson(outputPath(store, summary, "pack", "canary_info.json")))
    expect(info).toMatchObject({ count: 3, repeats: 2, secretSpaceSize: 1e12 })
    expect(canaries.length).toBe(6)
    expect(new Set(canaries.map((c) => c.secret)).size).toBe(3)
    for (const c of canaries) expect(c.sentence).toMatch(/^my account number is \d{4} \d{4} \d{4}$/)

    // Train sequences decode to the train documents (in order) with the canaries inserted.
    const decodedTrain = decodeDocuments(tok, trainSeqs)
    expect(decodedTrain.length).toBe(train.length)
    const byDoc = new Map<string, Array<Row<typeof Canaries>>>()
    for (const c of canaries) byDoc.set(c.doc_id, [...(byDoc.get(c.doc_id) ?? []), c])
    train.forEach((doc, i) => {
      const decoded = decodedTrain[i]!
      const records = byDoc.get(doc.doc_id) ?? []
      if (records.length === 0) expect(decoded).toBe(doc.text)
      else {
        expect(records.every((r) => r.user_id === doc.user_id)).toBe(true)
        expect(withoutCanaries(decoded, records)).toBe(doc.text)
      }
    })
    const trainText = decodedTrain.join("\n")
    for (const c of canaries) expect(trainText.split(c.sentence).length - 1).toBeGreaterThanOrEqual(2)

    // Eval sequences decode to the eval documents exactly, without canaries.
    const decodedEval = decodeDocuments(tok, evalSeqs)
    expect(decodedEval).toEqual(evalDocs.map((d) => d.text))
    for (const c of canaries) expect(decodedEval.join("\n")).not.toContain(c.sentence)
  })
})

describe("user data and failures", () => {
  it("a missing JSONL file fails the corpus stage with a message naming the path", async () => {
    const store = temp()
    const missing = join(store, "no-such-dir", "mail.jsonl")
    const exit = await Effect.runPromiseExit(runPipeline(dataTiny, {
      store,
      runId: "missing",
      scale: "micro",
      settings: { "corpus.source": "jsonl", "corpus.path": missing }
    }))
    expect(Exit.isFailure(exit)).toBe(true)
    const message = Exit.isFailure(exit) ? String(exit.cause) : ""
    expect(message).toContain("stage corpus")
    expect(message).toContain(missing)
    expect(message).toMatch(/does not exist.*corpus\.path/)
    const record = JSON.parse(readFileSync(join(store, "runs/missing/run.json"), "utf8")) as { nodes: Record<string, { status: string; error?: string }> }
    expect(record.nodes["corpus"]?.status).toBe("failed")
    expect(record.nodes["corpus"]?.error).toContain(missing)
    expect(record.nodes["pack"]?.status).toBe("blocked")

    // Called directly, the stage fails with the typed StageFailed.
    const direct = await Effect.runPromiseExit(withStubServices(corpus.run({
      config: { source: "jsonl", path: missing },
      perf: {},
      inputs: {},
      node: "corpus",
      stageKey: "test",
      secretKey: () => new Uint8Array(32)
    })))
    expect(Exit.isFailure(direct) && String(direct.cause)).toMatch(/StageFailed.*mail\.jsonl/)
  })

  it("loads a user's JSONL corpus: users from a column, malformed lines and duplicates counted", async () => {
    const store = temp()
    const file = join(store, "mail.jsonl")
    const lines = [
      ...Array.from({ length: 40 }, (_, i) => JSON.stringify({ body: `message ${i} about topic ${i % 7}`, from: `user${i % 10}@example.org` })),
      JSON.stringify({ body: "message 3 about topic 3", from: "user3@example.org" }), // duplicate text
      "{not json",
      JSON.stringify({ from: "user1@example.org" }) // no text
    ]
    writeFileSync(file, lines.join("\n") + "\n")
    const graph = Pipeline.make("user-data", {}, (b) => {
      // 2 of 43 records are malformed (4.7%), above the default 1%: accepted explicitly.
      const c = b.add("corpus", corpus, { config: { source: "jsonl", path: file, textColumn: "body", userColumn: "from", maxMalformedShare: 0.05 } })
      b.add("split", split, { config: { seed: 3, evalFraction: 0.3 }, inputs: { documents: c.out.documents } })
    })
    const summary = ok(await Effect.runPromiseExit(runPipeline(graph, { store, runId: "jsonl" })))
    const report = Schema.decodeUnknownSync(CorpusReport)(readJson(outputPath(store, summary, "corpus", "report.json")))
    expect(report).toMatchObject({ read: 43, kept: 40, duplicates: 1, malformed: 2, malformedByReason: { "not-json": 1, "no-text": 1 } })
    const docs = await readTable(outputPath(store, summary, "corpus", "documents.parquet"), Documents)
    expect(docs.length).toBe(40)
    expect(new Set(docs.map((d) => d.user_id)).size).toBe(10)
    expect(docs.every((d) => /^u[0-9a-f]{16}$/.test(d.user_id))).toBe(true) // pseudonymous, not the address
    const train = await readTable(outputPath(store, summary, "split", "train_documents.parquet"), Documents)
    const evalDocs = await readTable(outputPath(store, summary, "split", "eval_documents.parquet"), Documents)
    expect(train.length + evalDocs.length).toBe(40)
    const trainUsers = new Set(train.map((d) => d.user_id))
    expect(evalDocs.some((d) => trainUsers.has(d.user_id))).toBe(false)
    // The file is a declared source: unchanged, everything is reused; edited, the corpus is read again.
    const again = ok(await Effect.runPromiseExit(runPipeline(graph, { store, runId: "jsonl-again" })))
    expect(again.executed).toEqual([])
    writeFileSync(file, lines.join("\n") + "\n" + JSON.stringify({ body: "a new message", from: "user99@example.org" }) + "\n")
    const edited = ok(await Effect.runPromiseExit(runPipeline(graph, { store, runId: "jsonl-edited" })))
    expect(edited.executed).toContain("corpus")
    const report2 = Schema.decodeUnknownSync(CorpusReport)(readJson(outputPath(store, edited, "corpus", "report.json")))
    expect(report2.kept).toBe(41)
  })

  it("the split fails clearly when one side would be empty", async () => {
    const store = temp()
    const file = join(store, "one-user.jsonl")
    writeFileSync(file, Array.from({ length: 5 }, (_, i) => JSON.stringify({ text: `note ${i}`, user: "me" })).join("\n"))
    const graph = Pipeline.make("one-user", {}, (b) => {
      const c = b.add("corpus", corpus, { config: { source: "jsonl", path: file, userColumn: "user" } })
      b.add("split", split, { config: { seed: 1, evalFraction: 0.5 }, inputs: { documents: c.out.documents } })
    })
    const exit = await Effect.runPromiseExit(runPipeline(graph, { store, runId: "one" }))
    expect(Exit.isFailure(exit)).toBe(true)
    expect(Exit.isFailure(exit) && String(exit.cause)).toMatch(/split: the (train|eval) side is empty.*at least two users/)
  })

  it("an exhausted public corpus fails the tokenizer unless allowSmallerVocab, and the report gives the achieved size", async () => {
    const store = temp()
    const graph = (allow: boolean) =>
      Pipeline.make("small-vocab", {}, (b) => {
        const p = b.add("public-corpus", publicCorpus, { config: { sources: ["brown"], maxTexts: 30 } })
        b.add("tokenizer", tokenizer, { config: { vocabSize: 65_536, allowSmallerVocab: allow }, inputs: { texts: p.out.texts } })
      })
    const failed = await Effect.runPromiseExit(runPipeline(graph(false), { store, runId: "strict" }))
    expect(Exit.isFailure(failed)).toBe(true)
    expect(Exit.isFailure(failed) && String(failed.cause)).toMatch(/supports only \d+ of the 65536 tokens.*allowSmallerVocab=true/)
    const summary = ok(await Effect.runPromiseExit(runPipeline(graph(true), { store, runId: "lenient" })))
    expect(summary.cached).toEqual(["public-corpus"])
    const report = Schema.decodeUnknownSync(TokenizerReport)(readJson(outputPath(store, summary, "tokenizer", "report.json")))
    expect(report.exhausted).toBe(true)
    expect(report.vocabSize).toBeLessThan(65_536)
    expect(tokenizerFromJson(readFileSync(outputPath(store, summary, "tokenizer", "tokenizer.json"), "utf8")).vocabSize).toBe(report.vocabSize)
  })

  it("the corpus report is right even if it is read before the documents are written", async () => {
    const run = corpus.run({ config: { source: "spamassassin", groups: ["hard-ham-1"], maxDocuments: 100 }, perf: {}, inputs: {}, node: "corpus", stageKey: "test", secretKey: () => new Uint8Array(32) })
    const out = await Effect.runPromise(withStubServices(run))
    const early = out.report
    expect(early).toMatchObject({ kept: 100, truncated: true })
    const documents = out.documents
    if (!Stream.isStream(documents)) throw new Error("corpus returns its documents as a Stream")
    const docs = await Effect.runPromise(Stream.runCollect(documents))
    expect(Array.from(docs).length).toBe(100)
    expect(out.report).toEqual(early)
  })
})
