import { describe, expect, it } from "vitest"
import { Effect, Result, Schema } from "effect"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { runPipeline } from "@dpipe/runtime"
import { poissonSampledGaussian, selfComposed } from "@dpipe/accounting/events"
import { pldEpsilon } from "@dpipe/accounting/pld-accountant"
import { formatEpsilon, PrivacyStatement, ReportSummary } from "@dpipe/stages/report-stages/index"
import { tempStore } from "../../runtime/helpers.ts"
import { DELTA, reportPipeline, TRAIN } from "./pipeline.ts"

describe("report stages in a pipeline", () => {
  it("write the statement (dp) and report.html + summary (private) from upstream outputs", async () => {
    const store = tempStore()
    const summary = await Effect.runPromise(runPipeline(reportPipeline(), { store, runId: "r" }))
    const nodes = summary.record.nodes
    const st = nodes["privacy-statement"]!
    const rp = nodes["report"]!
    expect(st.outputs!["statement"]!.label).toBe("dp")
    expect(rp.outputs!["report"]!.label).toBe("private")
    expect(rp.outputs!["summary"]!.label).toBe("private")
    expect(rp.outputs!["report"]!.file).toBe("report.html")

    const statement = Schema.decodeUnknownSync(PrivacyStatement)(JSON.parse(readFileSync(join(store, "cache", st.key!, "statement.json"), "utf8")))
    const expected = Result.getOrThrow(pldEpsilon(selfComposed(poissonSampledGaussian(TRAIN.samplingRate, TRAIN.noiseMultiplier), TRAIN.steps), DELTA)).epsilon
    expect(statement.epsilon).toBe(expected)
    expect(statement.sequenceTokens).toBe(128)
    expect(statement.budget).toEqual({ epsilon: 8, withinBudget: true })

    const html = readFileSync(join(store, "cache", rp.key!, "report.html"), "utf8")
    expect(html.startsWith("<!doctype html>")).toBe(true)
    expect(html).toContain(`>${formatEpsilon(expected)}</span>`)
    expect(html).toContain("report-micro &lt;run&gt;")
    const s = Schema.decodeUnknownSync(ReportSummary)(JSON.parse(readFileSync(join(store, "cache", rp.key!, "summary.json"), "utf8")))
    expect(s.epsilon).toBe(expected)
    expect(s.evalLoss).toEqual({ dp: 4.1, nonPrivate: 3.4, unigram: 5.3 })
    expect(s.steps).toBe(TRAIN.steps)
  })
})
