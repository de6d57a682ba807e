/**
 * Ledger entries never decrease (docs/privacy.md, P8): when the newest checkpoint is
 * damaged, resume restores an older one and re-records fewer steps, but the steps
 * taken after it were taken (their noise drawn), so the ledger keeps the larger count.
 */
import { describe, expect, it } from "vitest"
import { readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { layout, readLedger } from "@dpipe/runtime"
import { cli, listDir, tempStore } from "../../runtime/helpers.ts"

const pipelines = join(import.meta.dirname, "pipelines")
const every2 = ["--set", "dp-train.checkpointEvery=2", "--set", "baseline.checkpointEvery=2"]
const killAtCheckpoint = (step: number) => `kill:checkpoint:dp-train/checkpoints/.tmp-step-${String(step).padStart(12, "0")}@1`

describe("training ledger across a damaged checkpoint", () => {
  it("a resume from an older checkpoint, after the newest is damaged, keeps the larger step count", async () => {
    const store = tempStore()
    const env = { DPIPE_PIPELINES: pipelines }
    // Killed while saving the checkpoint of step 10: the ledger says 10 (it is written
    // before the checkpoint), the newest complete checkpoint is step 8.
    const first = await cli(["run", "train-micro", "--run-id", "r", "--store", store, "--json", ...every2], { ...env, DPIPE_TEST_FAULT: killAtCheckpoint(10) })
    expect(first.signal).toBe("SIGKILL")
    expect((await readLedger(layout(store).ledgerFile("r"))).map((e) => e.steps)).toEqual([10])
    const cps = join(store, "runs/r/stages/dp-train/checkpoints")
    expect(listDir(cps).filter((n) => n.startsWith("step-"))).toContain("step-000000000008")
    // Damage checkpoint 8: resume falls back to step 6 and records step 8 at its next
    // checkpoint; killed right after that record.
    writeFileSync(join(cps, "step-000000000008", "tensors.arrow"), "garbage")
    const second = await cli(["resume", "r", "--store", store, "--json"], { ...env, DPIPE_TEST_FAULT: killAtCheckpoint(8) })
    expect(second.signal).toBe("SIGKILL")
    const log = readFileSync(join(store, "runs/r/logs/run.log"), "utf8")
    expect(log).toMatch(/step-000000000008 is damaged/)
    expect(log).toMatch(/restored checkpoint at step 6/)
    const ledger = await readLedger(layout(store).ledgerFile("r"))
    expect(ledger.map((e) => e.steps)).toEqual([10])
    expect(ledger[0]!.event).toMatchObject({ _tag: "SelfComposedEvent", count: 10 })
    // And the run still finishes, spending all 12 steps.
    const third = await cli(["resume", "r", "--store", store, "--json"], env)
    expect(third.code, third.stderr).toBe(0)
    expect((await readLedger(layout(store).ledgerFile("r"))).map((e) => e.steps)).toEqual([12])
  }, 400_000)
})
