/**
 * The report's predicted-vs-achieved DP loss (the planner's prediction beside the held-out
 * loss, in the summary and the summary table) and its stability section (spikes,
 * rollbacks and discarded steps counted from the DP metrics table; docs/privacy.md, P12).
 */
import { describe, expect, it } from "vitest"
import { Schema } from "effect"
import { renderReport, ReportSummary, type ReportInput } from "@dpipe/stages/report-stages/index"
import { stabilityCounts } from "@dpipe/stages/report-stages/render"
import { computeStatement } from "@dpipe/stages/report-stages/statement"
import { evaluation, fixedStatement, memorization, metricsRows, poissonPlan } from "./fixtures.ts"

const input = (over: Partial<ReportInput> = {}): ReportInput => ({
  title: "t",
  statement: fixedStatement(),
  dpMetrics: metricsRows(12),
  baselineMetrics: metricsRows(12, { noEpsilon: true }),
  evaluation,
  memorization,
  ...over
})

/** Rows of a guarded run: a rollback at step 7 discarding steps 5-7. */
const guardedRows = () =>
  metricsRows(12).map((r) => ({
    ...r,
    probe_loss: 6 - r.step * 0.05,
    spike: r.step === 6 || r.step === 7 ? 1 : 0,
    rollback: r.step === 7 ? 1 : 0,
    discarded: r.step >= 5 && r.step <= 7 ? 1 : 0
  }))

describe("report: predicted vs achieved DP loss, and stability", () => {
  it("puts the planner's prediction beside the achieved DP loss in the summary and the table", () => {
    const { html, summary } = renderReport(input({ predictedLoss: { dp: 4.0, source: "planTraining on law.json" } }))
    expect(summary.predictedLoss).toEqual({ dp: 4.0 })
    expect(summary.evalLoss.dp).toBe(evaluation.models.dp.meanLoss)
    expect(Schema.decodeUnknownSync(ReportSummary)(summary)).toEqual(summary)
    const rel = ((evaluation.models.dp.meanLoss - 4) / 4) * 100
    expect(html).toContain(`data-predicted-loss="4"`)
    expect(html).toContain(`${rel >= 0 ? "+" : ""}${Number(rel.toPrecision(3))}%; predicted by planTraining on law.json`)
  })

  it("without a planned recipe the prediction is null and no row is shown", () => {
    const { html, summary } = renderReport(input())
    expect(summary.predictedLoss).toEqual({ dp: null })
    expect(html).not.toContain("data-predicted-loss")
  })

  it("the privacy statement counts every executed step: spent privacy is never reclaimed", () => {
    const r = computeStatement({ plan: poissonPlan({ steps: 50, stepsDone: 50 }), sequenceTokens: 64, delta: 1e-6 })
    if (r._tag !== "Success") throw new Error(String(r.failure))
    expect(r.success.text).toContain("The 50 steps are every step executed, including any that a stability rollback discarded: spent privacy is never reclaimed.")
  })

  it("counts spikes, rollbacks and discarded steps from the DP metrics, and charts the probe loss", () => {
    const rows = guardedRows()
    expect(stabilityCounts(rows)).toEqual({ spikes: 2, rollbacks: 1, discardedSteps: 3 })
    const { html, summary } = renderReport(input({ dpMetrics: rows }))
    expect(summary.stability).toEqual({ spikes: 2, rollbacks: 1, discardedSteps: 3 })
    expect(html).toContain(`data-block="stability"`)
    expect(html).toMatch(/rollbacks at executed step<\/th><td[^>]*>8<\/td>/)
    expect(html).toContain("DP weights&#39; loss on the public probe")
    // an unguarded run: zeros, no probe chart
    const plain = renderReport(input())
    expect(plain.summary.stability).toEqual({ spikes: 0, rollbacks: 0, discardedSteps: 0 })
    expect(plain.html).toContain("This run was not guarded")
  })
})
