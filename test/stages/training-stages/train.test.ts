import { describe, expect, it } from "vitest"
import { Effect, Result } from "effect"
import { copyFileSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { collectingReporter, decodeTensors, layout, readLedger, runPipeline } from "@dpipe/runtime"
import { pldEpsilon } from "@dpipe/accounting/pld-accountant"
import type { DpEvent } from "@dpipe/accounting/events"
import { artifactDigests, cli, listDir, startCli, tempStore, waitFor } from "../../runtime/helpers.ts"
import { trainPipeline } from "./pipeline.ts"
import type { ExecutionPlan } from "@dpipe/stages/training-stages/config"
import { computeStatement } from "@dpipe/stages/report-stages/statement"

const pipelines = join(import.meta.dirname, "pipelines")

describe("training stages", () => {
  it("train DP and non-private models, record the DP spend, and label the outputs", async () => {
    const store = tempStore()
    const reporter = collectingReporter()
    const summary = await Effect.runPromise(runPipeline(trainPipeline(), { store, runId: "t", reporter }))
    const dpNode = summary.record.nodes["dp-train"]!
    expect(dpNode.outputs!["weights"]!.label).toBe("dp")
    expect(dpNode.outputs!["metrics"]!.label).toBe("private")
    expect(summary.record.nodes["baseline"]!.outputs!["weights"]!.label).toBe("private")
    const plan = JSON.parse(readFileSync(join(store, "cache", dpNode.key!, "plan.json"), "utf8"))
    expect(plan.stepsDone).toBe(12)
    // No public N was declared: the actual N (private under add/remove) is not in the
    // dp-labelled plan, nor q*N, which would reveal it (docs/privacy.md, P11).
    expect(plan.datasetSize).toBeUndefined()
    expect(plan.expectedBatchSize).toBeUndefined()
    expect(plan.normaliser).toBe("actual-n")
    // The ledger holds exactly the event the sampler and noise implemented, and the
    // run's epsilon is the PLD accountant's for that event.
    const ledger = await readLedger(layout(store).ledgerFile("t"))
    expect(ledger.length).toBe(1)
    const spent: DpEvent = {
      _tag: "SelfComposedEvent",
      event: { _tag: "PoissonSampledGaussianEvent", samplingRate: 0.002, noiseMultiplier: 1, neighbouring: "add_remove" },
      count: 12
    }
    expect(ledger[0]!.event).toEqual(spent)
    const expected = Result.getOrThrow(pldEpsilon(spent, 1e-5)).epsilon
    expect(summary.record.privacy!.epsilon["pld"]).toBeCloseTo(expected, 12)
    expect(summary.record.privacy!.epsilon["rdp"]!).toBeGreaterThanOrEqual(expected)
    // The store's ledger counts the same event against the corpus it trained on, whose
    // name the corpus stage declared and whose provenance reached dp-train (D1).
    const storeLedger = JSON.parse(readFileSync(layout(store).privacyLedger, "utf8")) as { datasets: Record<string, { name: string }>; entries: Array<{ dataset: string; event: unknown; runId: string }> }
    expect(Object.values(storeLedger.datasets).map((d) => d.name)).toEqual(["spamassassin:hard-ham-1"]) // the micro scale reads one group
    expect(storeLedger.entries.map((e) => [e.runId, e.event])).toEqual([["t", spent]])
    // Weights are finite and the right shape; the DP run differs from the baseline.
    const w = decodeTensors(new Uint8Array(readFileSync(join(store, "cache", dpNode.key!, "weights.arrow"))))
    const b = decodeTensors(new Uint8Array(readFileSync(join(store, "cache", summary.record.nodes["baseline"]!.key!, "weights.arrow"))))
    expect(Array.from(w["embed"]!.data).every(Number.isFinite)).toBe(true)
    expect(w["embed"]!.shape[1]).toBe(32)
    expect(Buffer.from(w["embed"]!.data.buffer).equals(Buffer.from(b["embed"]!.data.buffer))).toBe(false)
    // Progress reported epsilon and loss.
    expect(reporter.events.some((e) => e.type === "stage-progress" && e.node === "dp-train" && typeof e.metrics["eps"] === "number")).toBe(true)
  })

  it("a declared public dataset size is the only N in the dp-labelled plan and statement, and the normaliser's N", async () => {
    const store = tempStore()
    const summary = await Effect.runPromise(runPipeline(trainPipeline(), { store, runId: "n", settings: { "dp-train.datasetSize": 5000 } }))
    const actualN = summary.record.nodes["pack"]!.outputs!["train_sequences"]!.rows!
    expect(actualN).not.toBe(5000)
    const text = readFileSync(join(store, "cache", summary.record.nodes["dp-train"]!.key!, "plan.json"), "utf8")
    const plan = JSON.parse(text) as ExecutionPlan
    expect(plan.datasetSize).toBe(5000)
    expect(plan.expectedBatchSize).toBeCloseTo(0.002 * 5000, 12)
    expect(plan.normaliser).toBe("public-n")
    expect(text).not.toMatch(new RegExp(`\\b${actualN}\\b`))
    const statement = Result.getOrThrow(computeStatement({ plan, sequenceTokens: 17, delta: 1e-5 }))
    expect(statement.sampling.datasetSize).toBe(5000)
    expect(statement.text).toContain("N = 5000 training sequences (the declared public size)")
    expect(JSON.stringify(statement)).not.toMatch(new RegExp(`\\b${actualN}\\b`))
    // Undeclared: the statement publishes no N at all.
    const { datasetSize: _n, expectedBatchSize: _q, ...withoutN } = plan
    const anonymous = Result.getOrThrow(computeStatement({ plan: { ...withoutN, normaliser: "actual-n" }, sequenceTokens: 17, delta: 1e-5 }))
    expect(anonymous.sampling.datasetSize).toBeUndefined()
    expect(anonymous.text).toMatch(/the number of sequences is not published/)
  }, 240_000)

  it("refuses a run whose predicted spend exceeds the budget, before any stage runs", async () => {
    const store = tempStore()
    const exit = await Effect.runPromiseExit(runPipeline(trainPipeline(0.001), { store, runId: "over" }))
    expect(exit._tag).toBe("Failure")
    expect(String(exit._tag === "Failure" ? exit.cause : "")).toMatch(/would spend epsilon \d+\.\d+ at delta 1e-5 \(by pld\), over its budget of epsilon 0\.001/)
    expect(listDir(join(store, "runs"))).toEqual([])
  })

  it("kill -9 during DP training, then resume: byte-identical artifacts and the same ledger", async () => {
    const env = { DPIPE_PIPELINES: pipelines }
    const reference = tempStore()
    const ref = await cli(["run", "train-micro", "--run-id", "ref", "--store", reference], env)
    expect(ref.code, ref.stderr).toBe(0)

    // Same store secret, so the same sampler and noise streams: only the crash differs.
    const store = tempStore()
    copyFileSync(join(reference, "secret.key"), join(store, "secret.key"))
    const first = startCli(["run", "train-micro", "--run-id", "crash", "--store", store, "--json", "--set", "dp-train.checkpointEvery=2", "--set", "baseline.checkpointEvery=2"], env)
    await waitFor(() => listDir(join(store, "runs/crash/stages/dp-train/checkpoints")).some((n) => n.startsWith("step-")), 120_000, "a DP checkpoint")
    first.child.kill("SIGKILL")
    await first.done
    const resumed = await cli(["resume", "crash", "--store", store, "--json"], env)
    expect(resumed.code, resumed.stderr).toBe(0)
    expect(resumed.stdout).toMatch(/restored checkpoint at step [1-9]/)
    // Every artifact (weights, metrics tables, plans), read back from the cache, is byte-identical.
    expect(artifactDigests(store, "crash")).toEqual(artifactDigests(reference, "ref"))
    const la = await readLedger(layout(reference).ledgerFile("ref"))
    const lb = await readLedger(layout(store).ledgerFile("crash"))
    expect(lb.map((e) => [e.steps, e.event])).toEqual(la.map((e) => [e.steps, e.event]))
  }, 300_000)
})

describe("training config", () => {
  it("refuses invalid DP configs at plan time, naming the field", async () => {
    const { Plan } = await import("@dpipe/dsl")
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ "dp-train.noiseMultiplier": 0 }, "dp-train.noiseMultiplier"],
      [{ "dp-train.clipNorm": -1 }, "dp-train.clipNorm"],
      [{ "dp-train.samplingRate": 1.5 }, "dp-train.samplingRate"],
      [{ "dp-train.batchCap": 5, "dp-train.datasetSize": 10000 }, "dp-train.batchCap"],
      [{ "dp-train.batchCap": 50 }, "dp-train.datasetSize"]
    ]
    for (const [settings, path] of cases) {
      const r = Plan.makePlan(trainPipeline(), { settings })
      expect(r.ok).toBe(false)
      if (!r.ok) {
        expect(r.error.reason).toBe("invalid-config")
        expect(r.error.path).toBe(path)
      }
    }
  })
})
