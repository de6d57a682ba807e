/**
 * A tuning sweep killed mid-sweep keeps the trials it started spent (docs/privacy.md, P14):
 * in composition mode the ledger holds, before trial j starts, the composition of trials 1..j.
 */
import { describe, expect, it } from "vitest"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { layout, readLedger } from "@dpipe/runtime"
import { poissonSampledGaussian, selfComposed } from "@dpipe/accounting/events"
import { cli, repoRoot, tempStore } from "../../runtime/helpers.ts"

const env = { DPIPE_PIPELINES: join(repoRoot, "pipelines") }
const trial = selfComposed(poissonSampledGaussian(0.0015, 0.6), 20)

describe("dp-tune across a crash", () => {
  it("killed while recording trial 2, the ledgers hold trial 1; the resumed sweep ends with all three", async () => {
    const store = tempStore()
    // The sweep's ledger writes: before trial 1, 2 and 3. Kill at the second.
    const first = await cli(["run", "lr-tuning", "--run-id", "k", "--store", store, "--json"], { ...env, DPIPE_TEST_FAULT: "kill:ledger@2" })
    expect(first.signal).toBe("SIGKILL")
    const ledger = await readLedger(layout(store).ledgerFile("k"))
    expect(ledger.map((e) => [e.node, e.steps])).toEqual([["dp-tune", 20]])
    expect(ledger[0]!.event).toEqual(selfComposed(trial, 1))
    // (a killed run's reservation of its predicted spend stays until the run ends; recorded spend only)
    const storeLedger = () =>
      (JSON.parse(readFileSync(join(store, "privacy-ledger.json"), "utf8")) as { entries: Array<{ node: string; steps: number; reserved?: boolean }> }).entries.filter((e) => e.node === "dp-tune" && e.reserved !== true)
    expect(storeLedger().map((e) => e.steps)).toEqual([20])
    const resumed = await cli(["resume", "k", "--store", store, "--json"], env)
    expect(resumed.code, resumed.stderr).toBe(0)
    const after = await readLedger(layout(store).ledgerFile("k"))
    expect(after.map((e) => e.steps)).toEqual([60])
    expect(after[0]!.event).toEqual(selfComposed(trial, 3))
    expect(storeLedger().map((e) => e.steps)).toEqual([60])
  }, 600_000)
})
