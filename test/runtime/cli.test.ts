import { describe, expect, it } from "vitest"
import { existsSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { artifactDigests, cli, listDir, startCli, tempStore, waitFor } from "./helpers.ts"

describe("pipeline CLI", () => {
  it("resumes after kill -9 from the last checkpoint with byte-identical outputs", async () => {
    const reference = tempStore()
    const ref = await cli(["run", "toy", "--scale", "long", "--run-id", "ref", "--store", reference])
    expect(ref.code).toBe(0)

    const store = tempStore()
    const ckpts = join(store, "runs/crash/stages/accumulate/checkpoints")
    const first = startCli(["run", "toy", "--scale", "long", "--run-id", "crash", "--store", store, "--set", "accumulate.stepMs=60", "--json"])
    // Kill once at least two checkpoints exist (steps 3 and 6 of 60).
    await waitFor(() => listDir(ckpts).length >= 2, 60_000, "checkpoints")
    first.child.kill("SIGKILL")
    const killed = await first.done
    expect(killed.signal).toBe("SIGKILL")
    const record = JSON.parse(readFileSync(join(store, "runs/crash/run.json"), "utf8"))
    expect(record.nodes.accumulate.status).toBe("running")
    expect(record.nodes.generate.status).toBe("done")
    // `status` sees that the process is gone.
    const status = await cli(["status", "crash", "--store", store, "--json"])
    expect(JSON.parse(status.stdout).status).toBe("interrupted")

    const resumed = await cli(["resume", "crash", "--store", store, "--json"])
    expect(resumed.code).toBe(0)
    const events = resumed.stdout.trim().split("\n").map((l) => JSON.parse(l) as { type: string; node?: string; message?: string })
    const executed = events.filter((e) => e.type === "stage-start").map((e) => e.node)
    // Finished stages are not run again.
    expect(executed).not.toContain("generate")
    expect(executed).not.toContain("square")
    expect(executed).toContain("accumulate")
    // The long stage continued from a checkpoint, not from step 0.
    const restored = events.find((e) => e.type === "stage-info" && e.node === "accumulate")
    expect(restored?.message).toMatch(/restored checkpoint at step [1-9]\d*/)
    // Every artifact, read back from the cache, is byte-identical to the uninterrupted run's.
    expect(artifactDigests(store, "crash")).toEqual(artifactDigests(reference, "ref"))
  })

  it("bad config exits non-zero naming the field path, and makes no run directory", async () => {
    const store = tempStore()
    const r = await cli(["run", "toy", "--store", store, "--set", "accumulate.steps=0", "--run-id", "bad"])
    expect(r.code).not.toBe(0)
    expect(r.stderr).toContain("accumulate.steps")
    expect(r.stderr).toMatch(/greater than 0/)
    expect(existsSync(join(store, "runs/bad"))).toBe(false)
    const unknown = await cli(["run", "toy", "--store", store, "--set", "accumulate.step=3"])
    expect(unknown.code).not.toBe(0)
    expect(unknown.stderr).toContain("accumulate.steps")
    expect(unknown.stderr).toContain("accumulate.checkpointEvery")
    const missing = await cli(["run", "nope", "--store", store])
    expect(missing.code).not.toBe(0)
    expect(missing.stderr).toContain("Available pipelines: toy")
    expect(listDir(join(store, "runs"))).toEqual([])
  })

  it("a second process on the same run refuses with a clear message and changes nothing", async () => {
    const store = tempStore()
    const first = startCli(["run", "toy", "--scale", "long", "--run-id", "busy", "--store", store, "--set", "accumulate.stepMs=100", "--json"])
    await waitFor(() => existsSync(join(store, "runs/busy/lock")) && existsSync(join(store, "runs/busy/stages/accumulate/checkpoints")), 60_000, "the first run to be running")
    const before = readFileSync(join(store, "runs/busy/run.json"), "utf8")
    const beforeLog = readFileSync(join(store, "runs/busy/logs/run.log"), "utf8").split("\n").filter((l) => !l.includes("[accumulate]")).join("\n")
    const second = await cli(["resume", "busy", "--store", store])
    expect(second.code).not.toBe(0)
    expect(second.stderr).toMatch(/Run busy is in use by process \d+/)
    const afterLog = readFileSync(join(store, "runs/busy/logs/run.log"), "utf8").split("\n").filter((l) => !l.includes("[accumulate]")).join("\n")
    expect(afterLog).toBe(beforeLog)
    // The first run's record was not touched by the second process (only by the first).
    const after = JSON.parse(readFileSync(join(store, "runs/busy/run.json"), "utf8"))
    expect(after.runId).toBe(JSON.parse(before).runId)
    first.child.kill("SIGINT")
    const done = await first.done
    expect(done.code).toBe(130)
    const interrupted = JSON.parse(readFileSync(join(store, "runs/busy/run.json"), "utf8"))
    expect(interrupted.status).toBe("interrupted")
    expect(done.stdout).toContain("pnpm pipeline resume busy")
  })

  it("every verb has --help, and list/plan/status/runs/inspect answer", async () => {
    for (const verb of ["list", "plan", "run", "resume", "status", "runs", "inspect"]) {
      const r = await cli([verb, "--help"])
      expect(r.code, `${verb} --help`).toBe(0)
      expect(r.stdout).toContain(verb)
    }
  }, 180_000)
})
