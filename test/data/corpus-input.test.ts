/**
 * Bad input data at the corpus stage: skipped records are counted and reported on the
 * terminal; a load with nothing usable, or with more malformed records than
 * corpus.maxMalformedShare, fails at the corpus stage with the file, the line and the
 * reason (not two stages later); a JSONL file's progress is a count, not "n/0".
 */
import { describe, expect, it } from "vitest"
import { Effect, Exit } from "effect"
import { randomBytes } from "node:crypto"
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Pipeline } from "@dpipe/dsl"
import { collectingReporter, runPipeline } from "@dpipe/runtime"
import { plainReporter } from "@dpipe/runtime/progress/reporters"
import { Corpus, corpus, split, type CorpusSourceSpec } from "@dpipe/stages/data-stages/index"

const temp = () => mkdtempSync(join(tmpdir(), "dpipe-corpus-input-"))

/** corpus -> split, so that a corpus that slipped through would fail one stage later. */
const pipeline = (source: CorpusSourceSpec) =>
  Pipeline.make("corpus-input", {}, (b) => {
    const c = b.add("corpus", corpus, { config: source })
    b.add("split", split, { config: { seed: 1, evalFraction: 0.5 }, inputs: { documents: c.out.documents } })
  })

const mail = (n: number) => Array.from({ length: n }, (_, i) => JSON.stringify({ body: `message ${i}`, from: `user${i % 5}@example.org` }))

const run = async (source: CorpusSourceSpec, settings: Record<string, unknown> = {}) => {
  const store = temp()
  const reporter = collectingReporter()
  const exit = await Effect.runPromiseExit(runPipeline(pipeline(source), { store, runId: "r", reporter, settings }))
  const record = JSON.parse(readFileSync(join(store, "runs/r/run.json"), "utf8")) as { nodes: Record<string, { status: string; error?: string }> }
  return { exit, reporter, record, error: Exit.isFailure(exit) ? String(exit.cause) : "" }
}

describe("the corpus stage and bad input", () => {
  it("2,000 bytes of random data as corpus.path fail at the corpus stage, with the file, line and reason", async () => {
    const dir = temp()
    const path = join(dir, "random.bin")
    writeFileSync(path, randomBytes(2000))
    const r = await run(Corpus.jsonl({ path }))
    expect(Exit.isFailure(r.exit)).toBe(true)
    expect(r.record.nodes["corpus"]?.status).toBe("failed")
    expect(r.record.nodes["split"]?.status).toBe("blocked")
    expect(r.error).toMatch(/no usable record in jsonl .*random\.bin: all \d+ records read are malformed/)
    expect(r.error).toMatch(/first: .*random\.bin line 1: /)
    expect(r.error).not.toContain("side is empty")
  })

  it("a large file whose first 1,000 records are all malformed stops there, without reading the rest", async () => {
    const dir = temp()
    const path = join(dir, "big.jsonl")
    writeFileSync(path, Array.from({ length: 5000 }, (_, i) => `line ${i} is not json`).join("\n"))
    const r = await run(Corpus.jsonl({ path }))
    expect(r.record.nodes["corpus"]?.status).toBe("failed")
    // Read to the end, the message would say "all 5000 records read are malformed".
    expect(r.error).toContain("the first 1000 records of jsonl")
    expect(r.error).toContain("are all malformed, so the load stopped there")
    expect(r.error).toContain(`first: ${path} line 1: not valid JSON`)
    // Skipping every malformed record is explicit, and then the whole file is read before the load fails.
    const all = await run(Corpus.jsonl({ path, maxMalformedShare: 1 }))
    expect(all.error).toContain("all 5000 records read are malformed")
  })

  it("a wrong text column fails at once, naming the fields the file has", async () => {
    const dir = temp()
    const path = join(dir, "mail.jsonl")
    writeFileSync(path, mail(20).join("\n"))
    const r = await run(Corpus.jsonl({ path, textColumn: "text" }))
    expect(r.record.nodes["corpus"]?.status).toBe("failed")
    expect(r.error).toContain(`${path} line 1: no field "text" (fields: body, from)`)
  })

  it("more malformed records than maxMalformedShare fail with each reason's first line; the setting accepts them; every record is counted", async () => {
    const dir = temp()
    const path = join(dir, "mail.jsonl")
    // 50 good lines, then 3 broken ones: 3/53 = 5.7% malformed, above the default 1%.
    writeFileSync(path, [...mail(50), "{broken", JSON.stringify({ from: "x@example.org" }), "[1]"].join("\n") + "\n")
    const refused = await run(Corpus.jsonl({ path, textColumn: "body", userColumn: "from" }))
    expect(refused.record.nodes["corpus"]?.status).toBe("failed")
    expect(refused.error).toContain("3 of 53 records (5.7%)")
    expect(refused.error).toContain("more than corpus.maxMalformedShare (1.0%)")
    expect(refused.error).toContain(`not-json 1 (first: ${path} line 51: not valid JSON`)
    expect(refused.error).toContain(`no-text 1 (first: ${path} line 52: no field "body" (fields: from))`)
    expect(refused.error).toContain(`not-object 1 (first: ${path} line 53: a JSON array, not an object)`)
    expect(refused.error).toContain("--set corpus.maxMalformedShare=0.06")

    // Accepted with the setting: the stage goes on and says on the terminal what it skipped.
    const accepted = await run(Corpus.jsonl({ path, textColumn: "body", userColumn: "from" }), { "corpus.maxMalformedShare": 0.06 })
    expect(accepted.record.nodes["corpus"]?.status).toBe("done")
    const infos = accepted.reporter.events.flatMap((e) => (e.type === "stage-info" && e.node === "corpus" ? [e.message] : []))
    expect(infos.join("\n")).toMatch(/^skipped 3 of 53 records as malformed: .*not-json 1 \(first: .*line 51/m)
    expect(infos.join("\n")).toContain("kept 50")
    // The progress of a file of unknown length is a count: never "n/0".
    const progress = accepted.reporter.events.filter((e) => e.type === "stage-progress" && e.node === "corpus")
    expect(progress.length).toBeGreaterThan(0)
    const lines: Array<string> = []
    const plain = plainReporter((s) => void lines.push(s))
    for (const e of progress) plain.emit(e)
    expect(lines.join("")).toMatch(/^\[corpus\] 53 kept=50$/m)
    expect(lines.join("")).not.toMatch(/\/0/)
  })

  it("maxMalformedShare 1 skips every malformed record, but a load with nothing usable still fails", async () => {
    const dir = temp()
    const path = join(dir, "mail.jsonl")
    writeFileSync(path, [...mail(10), ...Array.from({ length: 10 }, () => "not json")].join("\n"))
    const skipAll = await run(Corpus.jsonl({ path, textColumn: "body", userColumn: "from", maxMalformedShare: 1 }))
    expect(skipAll.record.nodes["corpus"]?.status).toBe("done")
    const empty = join(dir, "garbage.jsonl")
    writeFileSync(empty, "not json\n{\n")
    const none = await run(Corpus.jsonl({ path: empty, maxMalformedShare: 1 }))
    expect(none.record.nodes["corpus"]?.status).toBe("failed")
    expect(none.error).toContain("no usable record")
    const blank = join(dir, "blank.jsonl")
    writeFileSync(blank, "\n\n")
    expect((await run(Corpus.jsonl({ path: blank }))).error).toContain("holds no records")
  })
})
