/**
 * The training stage's privacy guards, each checked against an independent expectation
 * (literal DP events, the accountant called directly, `pipeline account`) rather than the
 * production function that builds the event (docs/privacy.md):
 * - a capped run records the truncated-Poisson event, and its epsilon is `account --batch-cap`'s;
 * - the per-step budget guard stops before the step that would cross the budget;
 * - Ctrl-C during DP training writes a checkpoint that resume then uses, and the result equals
 *   an uninterrupted run's.
 */
import { describe, expect, it } from "vitest"
import { Effect, Result } from "effect"
import { copyFileSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { Pipeline } from "@dpipe/dsl"
import { layout, readLedger, runPipeline } from "@dpipe/runtime"
import { pldEpsilon } from "@dpipe/accounting/pld-accountant"
import type { DpEvent } from "@dpipe/accounting/events"
import { addDataStages, dataScales } from "@dpipe/stages/data-stages/index"
import { defaultAccountants } from "@dpipe/stages/privacy/accountants"
import { dpTrain } from "@dpipe/stages/training-stages/index"
import { artifactDigests, cli, listDir, startCli, tempStore, waitFor } from "../../runtime/helpers.ts"
import { microModel, trainPipeline } from "./pipeline.ts"

const pipelines = join(import.meta.dirname, "pipelines")
const DELTA = 1e-5
const Q = 0.002
const SIGMA = 1.0
const STEPS = 12

const planOf = (store: string, key: string): { stepsDone: number; datasetSize: number; sampler: string; batchCap?: number } =>
  JSON.parse(readFileSync(join(store, "cache", key, "plan.json"), "utf8"))

/** A pipeline whose DP stage declares no predicted spend, so that only the stage's own per-step guard stands between it and the budget. */
const unpredictedPipeline = (budgetEpsilon: number) =>
  Pipeline.make(
    "train-unpredicted",
    {
      scales: { micro: { ...dataScales.micro, "pack.canaries.count": 0 } },
      defaultScale: "micro",
      privacy: { budget: { epsilon: budgetEpsilon, delta: DELTA }, accountants: defaultAccountants }
    },
    (b) => {
      const d = addDataStages(b)
      const stage = { ...dpTrain, mechanism: { predict: () => [] } }
      b.add("dp-train", stage, {
        config: { model: microModel, steps: STEPS, samplingRate: Q, clipNorm: 1, noiseMultiplier: SIGMA, optimizer: { peakLr: 3e-3, warmupSteps: 2 } },
        perf: { microBatchSize: 16, checkpointEvery: 4 },
        inputs: { sequences: d.pack.out.train_sequences, tokenizer: d.tokenizer.out.tokenizer }
      })
    }
  )

const poissonSteps = (steps: number): DpEvent => ({
  _tag: "SelfComposedEvent",
  event: { _tag: "PoissonSampledGaussianEvent", samplingRate: Q, noiseMultiplier: SIGMA, neighbouring: "add_remove" },
  count: steps
})
const pld = (e: DpEvent): number => Result.getOrThrow(pldEpsilon(e, DELTA)).epsilon

describe("training stage privacy guards", () => {
  it("records the literal Poisson event; a capped run records the truncated-Poisson event and spends what `account --batch-cap` says", async () => {
    const store = tempStore()
    const plain = await Effect.runPromise(runPipeline(trainPipeline(), { store, runId: "plain" }))
    const key = plain.record.nodes["dp-train"]!.key!
    const N = plain.record.nodes["pack"]!.outputs!["train_sequences"]!.rows! // the actual N (the plan holds only a declared one)
    expect((await readLedger(layout(store).ledgerFile("plain"))).map((e) => e.event)).toEqual([poissonSteps(STEPS)])

    const cap = Math.ceil(Q * N) + 1
    const capped = await Effect.runPromise(
      runPipeline(trainPipeline(), { store, runId: "capped", settings: { "dp-train.batchCap": cap, "dp-train.datasetSize": N } })
    )
    const cappedKey = capped.record.nodes["dp-train"]!.key!
    expect(cappedKey).not.toBe(key)
    const plan = planOf(store, cappedKey)
    expect(plan.sampler).toBe("truncated-poisson")
    expect(plan.batchCap).toBe(cap)
    const ledger = await readLedger(layout(store).ledgerFile("capped"))
    expect(ledger.map((e) => [e.steps, e.event])).toEqual([
      [
        STEPS,
        {
          _tag: "SelfComposedEvent",
          event: { _tag: "TruncatedPoissonSampledGaussianEvent", datasetSize: N, batchCap: cap, samplingRate: Q, noiseMultiplier: SIGMA, neighbouring: "add_remove" },
          count: STEPS
        }
      ]
    ])
    const account = await cli([
      "account", "--sampling-rate", String(Q), "--noise-multiplier", String(SIGMA), "--steps", String(STEPS), "--delta", String(DELTA),
      "--dataset-size", String(N), "--batch-cap", String(cap), "--json"
    ])
    expect(account.code, account.stderr).toBe(0)
    const accounted = JSON.parse(account.stdout) as { pld: { epsilon: number } }
    expect(capped.record.privacy!.epsilon["pld"]).toBeCloseTo(accounted.pld.epsilon, 10)
    // truncation costs privacy: more than the untruncated run at the same q, sigma, T
    expect(accounted.pld.epsilon).toBeGreaterThan(pld(poissonSteps(STEPS)))
  }, 240_000)

  it("stops before the step that would cross the budget when nothing predicted the spend", async () => {
    // The budget lies between the epsilon of 7 and of 8 steps (accountant called directly).
    const budget = (pld(poissonSteps(7)) + pld(poissonSteps(8))) / 2
    expect(pld(poissonSteps(STEPS))).toBeGreaterThan(budget)
    const store = tempStore()
    const summary = await Effect.runPromise(runPipeline(unpredictedPipeline(budget), { store, runId: "capped-budget" }))
    const plan = planOf(store, summary.record.nodes["dp-train"]!.key!)
    expect(plan.stepsDone).toBe(7)
    const ledger = await readLedger(layout(store).ledgerFile("capped-budget"))
    expect(ledger.map((e) => [e.steps, e.event])).toEqual([[7, poissonSteps(7)]])
    expect(summary.record.privacy!.epsilon["pld"]).toBeLessThanOrEqual(budget)
    expect(summary.record.privacy!.epsilon["pld"]).toBeCloseTo(pld(poissonSteps(7)), 10)
  }, 240_000)

  it("inspect shows rows of private artifacts only with --private; dp artifacts without it", async () => {
    const store = tempStore()
    await Effect.runPromise(runPipeline(trainPipeline(), { store, runId: "i", settings: { "dp-train.steps": 2, "baseline.steps": 2 } }))
    const inspect = async (node: string, output: string, ...flags: Array<string>) => {
      const r = await cli(["inspect", "i", node, "--output", output, "--store", store, "--json", ...flags])
      expect(r.code, r.stderr).toBe(0)
      const entries = JSON.parse(r.stdout) as Array<{ label: string; head?: Array<unknown>; value?: unknown; note?: string; rows?: number }>
      expect(entries).toHaveLength(1)
      return entries[0]!
    }
    // private tables: the training metrics and the packed sequences
    for (const [node, output] of [["dp-train", "metrics"], ["pack", "train_sequences"]] as const) {
      const hidden = await inspect(node, output)
      expect(hidden.label).toBe("private")
      expect(hidden.head).toBeUndefined()
      expect(hidden.note).toMatch(/--private/)
      expect(hidden.rows).toBeGreaterThan(0)
      const shown = await inspect(node, output, "--private")
      expect(shown.head!.length).toBeGreaterThan(0)
    }
    // a dp artifact (the execution plan, released under the DP guarantee) is shown as is
    const plan = await inspect("dp-train", "plan")
    expect(plan.label).toBe("dp")
    expect((plan.value as { stepsDone: number }).stepsDone).toBe(2)
  }, 240_000)

  it("Ctrl-C during DP training writes a checkpoint; resume restores it and ends as an uninterrupted run", async () => {
    const env = { DPIPE_PIPELINES: pipelines }
    const reference = tempStore()
    // 150 DP steps (~70 ms each here) leave time for the interrupt to land mid-training
    const longer = ["--set", "dp-train.steps=150"]
    const ref = await cli(["run", "train-micro", "--run-id", "ref", "--store", reference, ...longer], env)
    expect(ref.code, ref.stderr).toBe(0)

    const store = tempStore()
    copyFileSync(join(reference, "secret.key"), join(store, "secret.key"))
    // checkpoints only on interrupt: every 1000 steps is never within 150
    const first = startCli(["run", "train-micro", "--run-id", "int", "--store", store, "--json", ...longer, "--set", "dp-train.checkpointEvery=1000", "--set", "baseline.checkpointEvery=1000"], env)
    const progressed = () =>
      first.output().split("\n").some((l) => {
        if (!l.startsWith("{")) return false
        const e = JSON.parse(l) as { type?: string; node?: string; step?: number }
        return e.type === "stage-progress" && e.node === "dp-train" && (e.step ?? 0) >= 3
      })
    await waitFor(progressed, 180_000, "DP training progress")
    first.child.kill("SIGINT")
    const stopped = await first.done
    expect(stopped.code).toBe(130)
    const checkpoints = listDir(join(store, "runs/int/stages/dp-train/checkpoints")).filter((n) => n.startsWith("step-"))
    expect(checkpoints.length).toBe(1)
    const savedStep = Number(checkpoints[0]!.replace(/^step-0*/, ""))
    expect(savedStep).toBeGreaterThanOrEqual(3)
    expect(savedStep).toBeLessThan(150)

    const resumed = await cli(["resume", "int", "--store", store, "--json"], env)
    expect(resumed.code, resumed.stderr).toBe(0)
    expect(resumed.stdout).toContain(`restored checkpoint at step ${savedStep}`)
    // Every artifact, the metrics tables included, is byte-identical to the uninterrupted run's.
    expect(artifactDigests(store, "int")).toEqual(artifactDigests(reference, "ref"))
    const la = await readLedger(layout(reference).ledgerFile("ref"))
    const lb = await readLedger(layout(store).ledgerFile("int"))
    expect(lb.map((e) => [e.steps, e.event])).toEqual(la.map((e) => [e.steps, e.event]))
  }, 300_000)
})
