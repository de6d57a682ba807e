/**
 * Acceptance: the whole data part of the tiny scale (SpamAssassin ham,
 * vocabulary 4096, 128-token sequences) runs end to end, and a second run reuses
 * every stage. (No wall-clock assertion: tests never assert times.)
 */
import { rmSync } from "node:fs"
import { afterAll, describe, expect, it } from "vitest"
import { Effect, Schema } from "effect"
import { parquetInfo, runPipeline } from "@dpipe/runtime"
import { CorpusReport, Sequences, TokenizerReport } from "@dpipe/stages/data-stages/index"
import dataTiny from "../../../pipelines/data-tiny.ts"
import { ok, outputPath, readJson, tempDir } from "./helpers.ts"

const store = tempDir()
afterAll(() => rmSync(store, { recursive: true, force: true }))

const nodes = ["corpus", "pack", "public-corpus", "split", "tokenizer"]

describe("data-tiny at the tiny scale", () => {
  it("runs end to end, then a second run reuses every stage", async () => {
    const first = ok(await Effect.runPromiseExit(runPipeline(dataTiny, { store, runId: "first" })))
    expect(first.record.scale).toBe("tiny")
    expect([...first.executed].sort()).toEqual(nodes)
    const report = Schema.decodeUnknownSync(CorpusReport)(readJson(outputPath(store, first, "corpus", "report.json")))
    expect(report.read).toBe(2500 + 1400 + 250)
    expect(report.kept).toBeGreaterThan(4000)
    const tok = Schema.decodeUnknownSync(TokenizerReport)(readJson(outputPath(store, first, "tokenizer", "report.json")))
    expect(tok.vocabSize).toBe(4096)
    const info = await parquetInfo(outputPath(store, first, "pack", "train_sequences.parquet"))
    expect(info.numRows).toBeGreaterThan(1000)
    expect(info.schema.fields.map((f) => f.name)).toEqual(Object.keys(Sequences.columns))

    const second = ok(await Effect.runPromiseExit(runPipeline(dataTiny, { store, runId: "second" })))
    expect(second.executed).toEqual([])
    expect([...second.cached].sort()).toEqual(nodes)
    for (const n of nodes) expect(second.record.nodes[n]?.outputs).toEqual(first.record.nodes[n]?.outputs)
  })
})
