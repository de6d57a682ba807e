import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { loadSpamAssassin, spamAssassinFiles } from "@dpipe/data/spam-assassin"
import { brownTexts, nlpCorpusTexts, stripBrownTags } from "@dpipe/data/public-corpora"
import { loadJsonl } from "@dpipe/data/jsonl"
import { loadTextFolder } from "@dpipe/data/text-folder"
import { userIdOf } from "@dpipe/data/address"
import { newLoadStats } from "@dpipe/data/schema"

const tmp = mkdtempSync(join(tmpdir(), "dpipe-data-"))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

const tagOf = (f: () => unknown): string | undefined => {
  try {
    f()
  } catch (e) {
    return (e as { _tag?: string })._tag
  }
  return undefined
}

describe("SpamAssassin loader", () => {
  it("lists the ham groups by default and any chosen groups", () => {
    expect(spamAssassinFiles().length).toBe(2500 + 1400 + 250)
    expect(spamAssassinFiles({ groups: ["spam-1"] }).length).toBe(500)
    const first = loadSpamAssassin({ groups: ["hard-ham-1"] }).next()
    expect(first.done).toBe(false)
    expect(first.value?.id).toBe("hard-ham-1/00001")
    expect(first.value?.text).toMatch(/^Return-Path: /)
  })

  it("fails with clear typed errors on a bad group, a missing package folder or a broken file", () => {
    expect(tagOf(() => spamAssassinFiles({ groups: ["ham"] }))).toBe("DataConfigError")
    expect(tagOf(() => spamAssassinFiles({ dir: join(tmp, "nowhere") }))).toBe("CorpusNotFoundError")
    const dir = join(tmp, "sa")
    mkdirSync(join(dir, "data", "easy-ham-1"), { recursive: true })
    writeFileSync(join(dir, "data", "file_list.json"), JSON.stringify(["easy-ham-1/00001.abc.txt", "easy-ham-1/00002.def.txt"]))
    writeFileSync(join(dir, "data", "easy-ham-1", "00001.abc.json"), "{\"id\":\"00001\",\"group\":\"easy-ham-1\",\"text\":\"Fr")
    expect(tagOf(() => [...loadSpamAssassin({ dir })])).toBe("CorpusReadError")
    writeFileSync(join(dir, "data", "easy-ham-1", "00001.abc.json"), JSON.stringify({ id: "00001", group: "easy-ham-1", text: "x" }))
    try {
      ;[...loadSpamAssassin({ dir })]
      expect.unreachable()
    } catch (e) {
      expect((e as { _tag?: string })._tag).toBe("CorpusNotFoundError")
      expect(String((e as Error).message)).toContain("00002.def.json")
    }
  })
})

describe("public corpora", () => {
  it("strips Brown tags", () => {
    expect(stripBrownTags("\tThe/at jury/nn said/vbd ``/`` no/at 1/2/cd ''/'' ./.")).toBe("The jury said \" no 1/2 \" .")
    const first = brownTexts().next().value
    expect(first?.startsWith("The Fulton County Grand Jury said Friday an investigation of Atlanta's recent primary election")).toBe(true)
    expect(first).not.toMatch(/\/(at|nn|np)/)
  })

  it("streams nlp-corpus sentences", () => {
    const it0 = nlpCorpusTexts()
    expect(it0.next().value).toBe("Creakiness and atmosphere this film has, but so unfortunately does the print I just viewed.")
    expect(tagOf(() => nlpCorpusTexts({ dir: join(tmp, "nope") }).next())).toBe("CorpusNotFoundError")
  })
})

describe("generic loaders", () => {
  it("JSONL with configurable text/user/id columns, malformed lines counted, duplicates dropped", () => {
    const path = join(tmp, "docs.jsonl")
    writeFileSync(path, [
      JSON.stringify({ body: "hello there", who: "alice", key: "d1" }),
      "not json",
      JSON.stringify({ body: "second", who: 42 }),
      "",
      JSON.stringify({ body: "hello there", who: "bob" }),
      JSON.stringify({ other: "x" }),
      JSON.stringify({ body: "no user" }),
      "[1,2]",
      JSON.stringify({ body: "ünï 😀", who: "alice" })
    ].join("\r\n"))
    const stats = newLoadStats()
    const docs = [...loadJsonl(path, { textColumn: "body", userColumn: "who", idColumn: "key" }, stats)]
    expect(docs).toEqual([
      { doc_id: "d1", user_id: userIdOf("alice"), text: "hello there", bytes: 11 },
      { doc_id: "docs.jsonl:3", user_id: userIdOf("42"), text: "second", bytes: 6 },
      { doc_id: "docs.jsonl:9", user_id: userIdOf("alice"), text: "ünï 😀", bytes: 10 }
    ])
    expect(stats).toMatchObject({ read: 8, kept: 3, duplicates: 1, malformed: 4, malformedByReason: { "not-json": 1, "no-text": 1, "no-user": 1, "not-object": 1 } })
    // Blank lines are not records; every other line is counted once.
    expect(stats.kept + stats.duplicates + stats.malformed).toBe(stats.read)
    // The first record of each reason: file, line and what is wrong.
    expect(stats.firstMalformed["not-json"]).toMatch(/docs\.jsonl line 2: not valid JSON/)
    expect(stats.firstMalformed["no-text"]).toBe(`${path} line 6: no field "body" (fields: other)`)
    expect(stats.firstMalformed["no-user"]).toBe(`${path} line 7: no string or number in the user field "who"`)
    expect(stats.firstMalformed["not-object"]).toBe(`${path} line 8: a JSON array, not an object`)
    const raw = [...loadJsonl(path, { textColumn: "body", hashUsers: false }, newLoadStats())]
    expect(raw[0]?.user_id).toBe("docs.jsonl:1") // no user column: each document its own user
    expect(tagOf(() => [...loadJsonl(join(tmp, "missing.jsonl"), {}, newLoadStats())])).toBe("CorpusNotFoundError")
  })

  it("reads JSONL larger than one read chunk, with multi-byte characters across chunk borders", () => {
    const path = join(tmp, "big.jsonl")
    const lines = Array.from({ length: 30_000 }, (_, i) => JSON.stringify({ text: `é${i} ${"ü".repeat(i % 50)}` }))
    writeFileSync(path, lines.join("\n") + "\n")
    const stats = newLoadStats()
    const docs = [...loadJsonl(path, {}, stats)]
    expect(docs.length).toBe(30_000)
    expect(docs[29_999]?.text).toBe(`é29999 ${"ü".repeat(29_999 % 50)}`)
  })

  it("a folder of .txt files, user per file or per subfolder", () => {
    const root = join(tmp, "folder")
    mkdirSync(join(root, "alice"), { recursive: true })
    mkdirSync(join(root, "bob"), { recursive: true })
    writeFileSync(join(root, "alice", "a.txt"), "alice one")
    writeFileSync(join(root, "alice", "b.txt"), "alice two")
    writeFileSync(join(root, "bob", "c.txt"), "bob")
    writeFileSync(join(root, "bob", "empty.txt"), "  ")
    writeFileSync(join(root, "bob", "skip.md"), "not loaded")
    writeFileSync(join(root, "top.txt"), "top level")
    const stats = newLoadStats()
    const docs = [...loadTextFolder(root, { user: "directory", hashUsers: false }, stats)]
    expect(docs.map((d) => [d.doc_id, d.user_id, d.text])).toEqual([
      ["alice/a.txt", "alice", "alice one"],
      ["alice/b.txt", "alice", "alice two"],
      ["bob/c.txt", "bob", "bob"]
    ])
    expect(stats.malformedByReason).toEqual({ empty: 1, "no-directory": 1 })
    const perFile = [...loadTextFolder(root, {}, newLoadStats())]
    expect(perFile.length).toBe(4)
    expect(new Set(perFile.map((d) => d.user_id)).size).toBe(4)
    expect(tagOf(() => [...loadTextFolder(join(tmp, "nope"), {}, newLoadStats())])).toBe("CorpusNotFoundError")
  })
})
