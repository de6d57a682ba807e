/** The lr-tuning pipeline at its micro scale: one combined event per sweep, only the best trial released. */
import { describe, expect, it } from "vitest"
import { Effect, Result } from "effect"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { layout, readLedger, runPipeline } from "@dpipe/runtime"
import { privateSelection, selfComposed } from "@dpipe/accounting/events"
import { geometricTrials } from "@dpipe/accounting/hyperparameter-selection"
import { pldEpsilon } from "@dpipe/accounting/pld-accountant"
import { DEFAULT_RDP_ORDERS, rdpOfEvent } from "@dpipe/accounting/rdp"
import { epsilonFromRdp } from "@dpipe/accounting/rdp-conversion"
import { poissonSampledGaussian } from "@dpipe/accounting/events"
import lrTuning from "../../pipelines/lr-tuning.ts"
import { tempStore } from "../runtime/helpers.ts"

const trial = selfComposed(poissonSampledGaussian(0.0015, 0.6), 20)
const SELECTION_KEYS = ["accounting", "candidates", "delta", "epsilon", "epsilonComposition", "epsilonSelection", "learningRate", "score", "select", "text", "trials"]

describe("lr-tuning", () => {
  it("composition (the smaller bound for three candidates) and forced private selection: one ledger event each, on the corpus", async () => {
    const store = tempStore()
    const run = await Effect.runPromise(runPipeline(lrTuning, { store, scale: "micro", runId: "c" }))
    expect(run.record.status).toBe("succeeded")
    const read = (r: typeof run, file: string) => JSON.parse(readFileSync(join(store, "cache", r.record.nodes["dp-tune"]!.key!, file), "utf8"))
    const s = read(run, "selection.json")
    expect(s.accounting).toBe("composition")
    expect([0.003, 0.01, 0.03]).toContain(s.learningRate)
    expect(Number.isFinite(s.score)).toBe(true)
    const compose = selfComposed(trial, 3)
    expect(s.epsilon).toBe(Result.getOrThrow(pldEpsilon(compose, 1e-6)).epsilon)
    expect(s.text).toMatch(/composing every trial/)
    expect(run.record.nodes["dp-tune"]!.outputs!["weights"]!.label).toBe("dp")
    expect(run.record.nodes["dp-tune"]!.outputs!["selection"]!.label).toBe("dp")
    const ledger = await readLedger(layout(store).ledgerFile("c"))
    expect(ledger.length).toBe(1)
    expect(ledger[0]!.event).toEqual(compose)
    expect(ledger[0]!.steps).toBe(60)

    const forced = await Effect.runPromise(runPipeline(lrTuning, { store, scale: "micro", runId: "s", settings: { "dp-tune.tuning.accounting": "selection" } }))
    const f = read(forced, "selection.json")
    expect(f.accounting).toBe("selection")
    // Only the selected trial is released: no K, no trial index, nothing beyond these fields.
    expect(Object.keys(f).sort()).toEqual(SELECTION_KEYS)
    expect(f.trials).toMatch(/^geometric .*E\[K\] = 3/)
    const sel = privateSelection(trial, geometricTrials(3))
    const eps = epsilonFromRdp(DEFAULT_RDP_ORDERS, Result.getOrThrow(rdpOfEvent(sel)), 1e-6).epsilon
    expect(f.epsilon).toBeCloseTo(eps, 12)
    expect(f.epsilonComposition).toBe(s.epsilon)
    const fl = await readLedger(layout(store).ledgerFile("s"))
    expect(fl.map((e) => e.event)).toEqual([sel])
    // The run's epsilon composes the selection by RDP (PLD has no analysis of it).
    expect(forced.record.privacy!.epsilon["pld"]).toBeCloseTo(eps, 10)
    // The store ledger holds both sweeps against the corpus.
    const store_ = JSON.parse(readFileSync(join(store, "privacy-ledger.json"), "utf8")) as { entries: Array<{ node: string; event: unknown }> }
    expect(store_.entries.filter((e) => e.node === "dp-tune").map((e) => e.event)).toEqual([compose, sel])
  }, 600_000)
})
