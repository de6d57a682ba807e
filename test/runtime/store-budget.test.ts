/**
 * The store-wide privacy ledger and per-dataset budgets (docs/privacy.md, D1-D3), with a
 * toy mechanism that records real DP events and the real accountants. Every epsilon is
 * checked against the accountant called directly on a literal composed event.
 */
import { describe, expect, it } from "vitest"
import { existsSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { Effect, Exit, Result } from "effect"
import { layout, runPipeline } from "@dpipe/runtime"
import { composed, poissonSampledGaussian, selfComposed, type DpEvent } from "@dpipe/accounting/events"
import { pldEpsilon } from "@dpipe/accounting/pld-accountant"
import { DEFAULT_RDP_ORDERS, rdpOfEvent } from "@dpipe/accounting/rdp"
import { epsilonFromRdp } from "@dpipe/accounting/rdp-conversion"
import { cli, repoRoot, startCli, tempStore } from "./helpers.ts"
import toy from "./pipelines-budget/dataset-toy.ts"

const DELTA = 1e-5
const env = { DPIPE_PIPELINES: join(repoRoot, "test/runtime/pipelines-budget") }
const run = (store: string, runId: string, settings: Record<string, unknown>) => Effect.runPromiseExit(runPipeline(toy, { store, runId, settings }))
const steps200 = (sigma: number): DpEvent => selfComposed(poissonSampledGaussian(0.01, sigma, "add_remove"), 200)
const pld = (e: DpEvent): number => Result.getOrThrow(pldEpsilon(e, DELTA)).epsilon
const rdp = (e: DpEvent): number => epsilonFromRdp(DEFAULT_RDP_ORDERS, Result.getOrThrow(rdpOfEvent(e)), DELTA).epsilon

interface Summary {
  readonly datasets: ReadonlyArray<{ name: string; sourceHash: string | null; epsilon: number; epsilonRdp: number | null; delta: number | null; budgetEpsilon: number | null; runs: ReadonlyArray<{ runId: string; stages: ReadonlyArray<string> }> }>
}
const budget = async (store: string): Promise<Summary> => {
  const r = await cli(["budget", "--store", store, "--json"], env)
  expect(r.code, r.stderr).toBe(0)
  return JSON.parse(r.stdout) as Summary
}

describe("store-wide privacy ledger", () => {
  it("composes three runs on one corpus, refuses a fourth over budget before writing anything, and keeps other corpora apart", async () => {
    const store = tempStore()
    for (const [id, sigma] of [["s10", 1.0], ["s09", 0.9], ["s08", 0.8]] as const) {
      const exit = await run(store, id, { "dp.sigma": sigma })
      expect(Exit.isSuccess(exit), String(exit)).toBe(true)
    }
    const three = composed([steps200(1.0), steps200(0.9), steps200(0.8)])
    const after3 = await budget(store)
    expect(after3.datasets.length).toBe(1)
    const mail = after3.datasets[0]!
    expect(mail.name).toBe("mail")
    expect(mail.sourceHash).toMatch(/^[0-9a-f]{64}$/)
    expect(mail.delta).toBe(DELTA)
    expect(mail.epsilon).toBeCloseTo(pld(three), 9)
    expect(mail.epsilonRdp!).toBeCloseTo(rdp(three), 9)
    expect(mail.epsilonRdp!).toBeGreaterThan(mail.epsilon) // PLD is the tighter one
    expect(mail.epsilon).toBeGreaterThan(pld(steps200(0.8))) // more than any one run
    expect(mail.runs.map((r) => r.runId).sort()).toEqual(["s08", "s09", "s10"])
    expect(mail.runs.every((r) => r.stages.join() === "dp")).toBe(true)

    // A budget between what is spent and what a fourth run (sigma 0.7) would bring.
    const four = pld(composed([steps200(1.0), steps200(0.9), steps200(0.8), steps200(0.7)]))
    const allowed = Number((mail.epsilon + (four - mail.epsilon) / 2).toFixed(3))
    const set = await cli(["budget", "set", "mail", "--epsilon", String(allowed), "--delta", String(DELTA), "--store", store], env)
    expect(set.code, set.stderr).toBe(0)
    expect((await budget(store)).datasets[0]!.budgetEpsilon).toBe(allowed)

    const ledgerBefore = readFileSync(layout(store).privacyLedger, "utf8")
    const refused = await run(store, "s07", { "dp.sigma": 0.7 })
    expect(Exit.isFailure(refused)).toBe(true)
    const message = Exit.isFailure(refused) ? String(refused.cause) : ""
    expect(message).toContain(`has spent epsilon ${mail.epsilon.toFixed(4)}`)
    expect(message).toMatch(/this run would spend \d+\.\d{4}/)
    expect(message).toContain(`together ${four.toFixed(4)}`)
    expect(message).toContain(`over the allowed ${allowed}`)
    expect(existsSync(layout(store).runDir("s07"))).toBe(false)
    expect(readFileSync(layout(store).privacyLedger, "utf8")).toBe(ledgerBefore)
    // `plan` refuses it too, with the same figures.
    const plan = await cli(["plan", "dataset-toy", "--set", "dp.sigma=0.7", "--store", store], env)
    expect(plan.code).not.toBe(0)
    expect(plan.stderr).toContain(`over the allowed ${allowed}`)

    // A cached mechanism spends nothing: rerunning sigma 1.0 reuses it and is allowed.
    const again = await Effect.runPromise(runPipeline(toy, { store, runId: "s10-again", settings: { "dp.sigma": 1.0 } }))
    expect(again.executed).toEqual([])
    expect(readFileSync(layout(store).privacyLedger, "utf8")).toBe(ledgerBefore)

    // Another corpus is another dataset: it does not spend on "mail".
    expect(Exit.isSuccess(await run(store, "other", { "source.corpus": "news", "dp.sigma": 1.0 }))).toBe(true)
    // A rerun that draws new noise (another seed: another stage key) spends again.
    expect(Exit.isSuccess(await run(store, "other-2", { "source.corpus": "news", "dp.sigma": 1.0, "dp.seed": 1 }))).toBe(true)
    const final = await budget(store)
    const byName = new Map(final.datasets.map((d) => [d.name, d]))
    expect(byName.get("mail")!.epsilon).toBe(mail.epsilon)
    expect(byName.get("news")!.sourceHash).not.toBe(mail.sourceHash)
    expect(byName.get("news")!.epsilon).toBeCloseTo(pld(composed([steps200(1.0), steps200(1.0)])), 9)
    expect(byName.get("news")!.runs.map((r) => r.runId).sort()).toEqual(["other", "other-2"])
  }, 240_000)

  it("two runs started at once, each within the budget alone but not together: one runs, the other is refused", async () => {
    const store = tempStore()
    const one = pld(steps200(1.0))
    const two = pld(composed([steps200(1.0), steps200(1.0)]))
    const allowed = (one + two) / 2
    expect((await cli(["budget", "set", "mail", "--epsilon", String(allowed), "--delta", String(DELTA), "--store", store], env)).code).toBe(0)
    // Both hold for 4 s before spending, so both have checked the budget before either records.
    const start = (id: string, seed: number) => startCli(["run", "dataset-toy", "--store", store, "--run-id", id, "--set", `dp.seed=${seed}`, "--set", "dp.holdMs=4000", "--json"], env).done
    const [a, b] = await Promise.all([start("a", 1), start("b", 2)])
    const codes = [a.code, b.code].sort()
    expect(codes[0], a.stderr + b.stderr).toBe(0)
    expect(codes[1]).not.toBe(0)
    const refused = a.code === 0 ? b : a
    expect(refused.stderr).toMatch(/over the allowed/)
    const mail = (await budget(store)).datasets.find((d) => d.name === "mail")!
    expect(mail.epsilon).toBeCloseTo(one, 9)
    expect(mail.epsilon).toBeLessThanOrEqual(allowed)
    expect(mail.runs.length).toBe(1)
    expect((mail as { reservedBy?: ReadonlyArray<string> }).reservedBy).toEqual([]) // released when the run ended
  }, 120_000)

  it("a mechanism whose spend nobody predicted stops before the step that would cross its dataset's budget", async () => {
    const store = tempStore()
    // The budget lies between the epsilon of 120 and 121 steps (accountant called directly).
    const e = (t: number) => pld(selfComposed(poissonSampledGaussian(0.01, 1.0, "add_remove"), t))
    const allowed = (e(120) + e(121)) / 2
    expect((await cli(["budget", "set", "mail", "--epsilon", String(allowed), "--delta", String(DELTA), "--store", store], env)).code).toBe(0)
    const summary = await Effect.runPromise(runPipeline(toy, { store, runId: "guard", settings: { "dp.announce": false } }))
    const release = JSON.parse(readFileSync(join(store, "cache", summary.record.nodes["dp"]!.key!, "release.json"), "utf8")) as { steps: number }
    expect(release.steps).toBe(120)
    const mail = (await budget(store)).datasets.find((d) => d.name === "mail")!
    expect(mail.epsilon).toBeCloseTo(e(120), 9)
    expect(mail.epsilon).toBeLessThanOrEqual(allowed)
  }, 120_000)
})
