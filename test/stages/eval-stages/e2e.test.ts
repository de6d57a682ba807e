/**
 * End to end at the micro scale: data with canaries (3 x 4 copies), DP and
 * non-private training (20 steps), then evaluate and memorization. Checks labels,
 * sane numbers and internal consistency of the outputs.
 */
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { Effect, Schema } from "effect"
import { readParquetTable, runPipeline } from "@dpipe/runtime"
import { CanaryExposure, Evaluation, Memorization } from "@dpipe/stages/eval-stages/index"
import { tempStore } from "../../runtime/helpers.ts"
import { evalPipeline } from "./pipeline.ts"

describe("evaluation stages end to end (micro)", () => {
  it("evaluate and memorization run on micro DP and non-private models with private labels and sane numbers", async () => {
    const store = tempStore()
    const t0 = Date.now()
    const summary = await Effect.runPromise(runPipeline(evalPipeline(), { store, runId: "e" }))
    const nodes = summary.record.nodes
    const timing = Object.fromEntries(Object.entries(nodes).map(([k, n]) => [k, (n as { durationMs?: number }).durationMs]))
    console.log(`eval e2e: ${Date.now() - t0} ms`, JSON.stringify(timing))
    expect(nodes["evaluate"]!.outputs!["evaluation"]!.label).toBe("private")
    expect(nodes["memorization"]!.outputs!["memorization"]!.label).toBe("private")
    expect(nodes["memorization"]!.outputs!["canary_exposure"]!.label).toBe("private")
    const dir = (node: string) => join(store, "cache", nodes[node]!.key!)

    const ev = Schema.decodeUnknownSync(Evaluation)(JSON.parse(readFileSync(join(dir("evaluate"), "evaluation.json"), "utf8")))
    console.log("evaluation", JSON.stringify(ev.models))
    expect(ev.sequences).toBe(256)
    expect(ev.availableSequences).toBeGreaterThan(256)
    for (const m of [ev.models.dp, ev.models.nonPrivate, ev.models.unigram]) {
      expect(Number.isFinite(m.meanLoss)).toBe(true)
      expect(m.meanLoss).toBeGreaterThan(0)
      expect(m.perplexity).toBeCloseTo(Math.exp(m.meanLoss), 6)
      expect(m.bitsPerByte).toBeCloseTo(m.totalNats / Math.LN2 / m.bytes, 9)
      expect(m.tokens).toBe(ev.models.unigram.tokens)
      expect(m.bytes).toBeGreaterThan(m.tokens) // BPE tokens average more than a byte
    }
    // vocabulary 512: a uniform model has log(512) = 6.24 nats; unigram is well below.
    expect(ev.models.unigram.meanLoss).toBeLessThan(Math.log(512))
    expect(ev.models.nonPrivate.meanLoss).toBeLessThan(Math.log(512))

    const mem = Schema.decodeUnknownSync(Memorization)(JSON.parse(readFileSync(join(dir("memorization"), "memorization.json"), "utf8")))
    console.log("memorization", JSON.stringify(mem))
    expect(mem.canaries.count).toBe(3)
    expect(mem.canaries.candidates).toBe(100)
    expect(mem.canaries.maxMeasurableExposure).toBeCloseTo(Math.log2(101), 12)
    for (const m of [mem.canaries.models.dp, mem.canaries.models.nonPrivate]) {
      expect(m.byRepeats.map((g) => g.repeats)).toEqual([4])
      expect(m.byRepeats[0]!.canaries).toBe(3)
    }
    const rows: Array<typeof CanaryExposure.row.Type> = []
    for await (const batch of readParquetTable(join(dir("memorization"), "canary_exposure.parquet"), CanaryExposure)) rows.push(...batch)
    expect(rows.length).toBe(6)
    for (const r of rows) {
      expect(r.exposure).toBeGreaterThanOrEqual(0)
      expect(r.exposure).toBeLessThanOrEqual(Math.log2(101) + 1e-12)
      expect(r.rank).toBeGreaterThanOrEqual(1)
      expect(r.rank).toBeLessThanOrEqual(101)
      expect(r.exposure).toBeCloseTo(Math.log2(101) - Math.log2(r.rank), 12)
      expect(Number.isFinite(r.log_perplexity)).toBe(true)
      expect(r.exposure_normal_fit).toBeGreaterThanOrEqual(0)
      expect(r.exposure_normal_fit).toBeLessThanOrEqual(40)
      expect(r.repeats).toBe(4)
    }
    const x = mem.extraction
    expect(x.prefixTokens).toBe(32)
    expect(x.suffixTokens).toBe(32)
    expect(x.sampled.sequences).toBe(16)
    expect(x.duplicated.canarySequences).toBeGreaterThan(0)
    expect(x.canarySecrets.attempts).toBeGreaterThan(0)
    expect(x.canarySecrets.attempts).toBeLessThanOrEqual(12)
    for (const c of [x.sampled.models.dp, x.sampled.models.nonPrivate, x.duplicated.models.dp, x.canarySecrets.models.nonPrivate]) {
      expect(c.exact).toBeLessThanOrEqual(c.approximate)
      expect(c.approximate).toBeLessThanOrEqual(c.attempts)
    }
  }, 180_000)
})
