/**
 * A dp-scaling run killed (SIGKILL) while a sweep point writes a checkpoint resumes: the
 * points that had finished are reused, the killed point continues from its checkpoint,
 * and every point's observations and the fitted law are byte-identical to an
 * uninterrupted run with the same store secret.
 */
import { describe, expect, it } from "vitest"
import { copyFileSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { Effect } from "effect"
import { runPipeline } from "@dpipe/runtime"
import { enabledPoints, type SweepScale } from "@dpipe/stages"
import dpScaling, { sweepScales } from "../../pipelines/dp-scaling.ts"
import { artifactDigests, repoRoot, startCli, tempStore } from "../runtime/helpers.ts"

const points = enabledPoints(sweepScales.micro as SweepScale)
const perf = Object.fromEntries(points.map((p) => [`${p.id}.checkpointEvery`, 3]))
const env = { DPIPE_PIPELINES: join(repoRoot, "pipelines") }

describe("dp-scaling resume", () => {
  it("a run killed at a point's checkpoint resumes from it and ends byte-identical", async () => {
    const reference = tempStore()
    const ref = await Effect.runPromise(runPipeline(dpScaling, { store: reference, scale: "micro", runId: "ref", settings: perf }))
    expect(ref.record.status).toBe("succeeded")

    const store = tempStore()
    copyFileSync(join(reference, "secret.key"), join(store, "secret.key"))
    // Killed while the last point writes its second checkpoint (step 6 of 12): with at most
    // three points at once, at least three have finished by then.
    const last = points[points.length - 1]!.id
    const sets = Object.entries(perf).flatMap(([k, v]) => ["--set", `${k}=${v}`])
    const killed = await startCli(["run", "dp-scaling", "--scale", "micro", "--run-id", "k", "--store", store, ...sets], { ...env, DPIPE_TEST_FAULT: `kill:checkpoint:${last}/checkpoints@3` }).done
    expect(killed.signal).toBe("SIGKILL")
    type RunRecord = { nodes: Record<string, { status: string; finishedAt?: string }> }
    const readRecord = () => JSON.parse(readFileSync(join(store, "runs", "k", "run.json"), "utf8")) as RunRecord
    const atKill = readRecord()
    const finishedBefore = points.filter((p) => atKill.nodes[p.id]!.status === "done").map((p) => p.id)
    const resumed = startCli(["resume", "k", "--store", store], env)
    const done = await resumed.done
    expect(done.code, done.stderr).toBe(0)
    const out = resumed.output()
    expect(out).toContain(`[${last}] restored checkpoint at step 3`)

    // Points that finished before the kill are reused, not run again; the killed point
    // continued from its checkpoint at step 3.
    const record = readRecord()
    expect(finishedBefore.length).toBeGreaterThan(0)
    expect(finishedBefore.length).toBeLessThan(points.length)
    for (const id of finishedBefore) {
      expect(out).toContain(`[${id}] cached`)
      expect(out).not.toContain(`[${id}] running`)
    }
    for (const p of points) expect(["done", "cached"]).toContain(record.nodes[p.id]!.status)

    const a = artifactDigests(reference, "ref")
    const b = artifactDigests(store, "k")
    for (const p of points) expect(`${p.id}: ${b[`${p.id}.observations`]}`).toBe(`${p.id}: ${a[`${p.id}.observations`]}`)
    expect(b["fit.law"]).toBe(a["fit.law"])
  }, 900_000)
})
