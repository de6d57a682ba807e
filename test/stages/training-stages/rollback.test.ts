/**
 * The stability guard in the training stage (docs/privacy.md, P12): a learning rate
 * forced far too high diverges, is rolled back to the last good checkpoint with a lower
 * rate and finishes; the ledger counts every executed step, the discarded ones included,
 * and the metrics table marks the spike, the rollback and the discarded steps. A normal
 * run reports zero rollbacks.
 */
import { describe, expect, it } from "vitest"
import { Effect } from "effect"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { collectingReporter, layout, readLedger, readParquetTable, runPipeline } from "@dpipe/runtime"
import { TrainMetrics, type TrainMetricsRow } from "@dpipe/stages/training-stages/tables"
import { tempStore } from "../../runtime/helpers.ts"
import { trainPipeline } from "./pipeline.ts"

const STEPS = 30

const metricsOf = async (store: string, key: string): Promise<Array<TrainMetricsRow>> => {
  const rows: Array<TrainMetricsRow> = []
  for await (const batch of readParquetTable(join(store, "cache", key, "metrics.parquet"), TrainMetrics)) rows.push(...batch)
  return rows
}

describe("stability guard in dp-train", () => {
  it("a learning rate forced too high diverges, is rolled back with a lower rate, and finishes; the ledger counts all executed steps", async () => {
    const store = tempStore()
    const reporter = collectingReporter()
    const settings = {
      "dp-train.steps": STEPS,
      "baseline.steps": STEPS,
      "dp-train.optimizer.peakLr": 2,
      "dp-train.optimizer.warmupSteps": 1,
      "dp-train.stability.lrFactor": 0.05,
      "dp-train.checkpointEvery": 5
    }
    const summary = await Effect.runPromise(runPipeline(trainPipeline(), { store, runId: "hot", reporter, settings }))
    expect(summary.record.status).toBe("succeeded")
    const node = summary.record.nodes["dp-train"]!
    const rows = await metricsOf(store, node.key!)
    // One row per executed step, each a distinct batch and noise index.
    expect(rows.map((r) => r.step)).toEqual(Array.from({ length: STEPS }, (_, i) => i))
    const rollbacks = rows.filter((r) => r.rollback === 1)
    expect(rollbacks.length).toBeGreaterThanOrEqual(1)
    expect(rows.filter((r) => r.spike === 1).length).toBeGreaterThanOrEqual(rollbacks.length)
    const discarded = rows.filter((r) => r.discarded === 1).length
    expect(discarded).toBeGreaterThanOrEqual(rollbacks.length)
    // The rate after a rollback is the scheduled one times 0.05 per rollback.
    const last = rows.at(-1)!
    expect(last.lr).toBeLessThan(2 * 0.05 + 1e-12)
    // The run ends on a healthy model: the last probe loss is below the untrained one.
    expect(last.probe_loss).toBeLessThan(rows[0]!.probe_loss)
    // The ledger (and the plan's event) counts every executed step, discarded ones included.
    const ledger = await readLedger(layout(store).ledgerFile("hot"))
    expect(ledger.map((e) => e.steps)).toEqual([STEPS])
    expect(ledger[0]!.event).toMatchObject({ _tag: "SelfComposedEvent", count: STEPS })
    const plan = JSON.parse(readFileSync(join(store, "cache", node.key!, "plan.json"), "utf8"))
    expect(plan.stepsDone).toBe(STEPS)
    expect(plan.event).toEqual(ledger[0]!.event)
    // The rollback was announced.
    expect(reporter.events.some((e) => e.type === "stage-info" && e.node === "dp-train" && /rolled back to the last good checkpoint/.test(e.message))).toBe(true)
  }, 300_000)

  it("a normal run reports zero spikes and rollbacks; the baseline is not guarded", async () => {
    const store = tempStore()
    const summary = await Effect.runPromise(runPipeline(trainPipeline(), { store, runId: "calm", settings: { "dp-train.steps": STEPS, "baseline.steps": STEPS } }))
    const rows = await metricsOf(store, summary.record.nodes["dp-train"]!.key!)
    expect(rows.filter((r) => r.rollback === 1 || r.spike === 1 || r.discarded === 1)).toEqual([])
    expect(rows.every((r) => Number.isFinite(r.probe_loss))).toBe(true)
    expect(rows.at(-1)!.probe_loss).toBeLessThan(rows[0]!.probe_loss)
    const base = await metricsOf(store, summary.record.nodes["baseline"]!.key!)
    expect(base.every((r) => Number.isNaN(r.probe_loss) && r.spike === 0)).toBe(true)
  }, 300_000)
})
