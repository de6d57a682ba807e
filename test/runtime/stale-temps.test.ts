/**
 * Temporary files of killed processes are removed when a run starts or resumes, and
 * only those: a temporary whose writer is alive (its pid runs here, or a run lock in
 * the store names it on another host) is kept.
 */
import { describe, expect, it } from "vitest"
import { spawn } from "node:child_process"
import { existsSync, mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { Effect } from "effect"
import { collectingReporter, resumePipeline, runPipeline } from "@dpipe/runtime"
import toy from "./pipelines/toy.ts"
import { tempStore } from "./helpers.ts"

/** A pid that runs no process: a child that has exited. */
const deadPid = async (): Promise<number> => {
  const child = spawn("true")
  await new Promise((r) => child.on("exit", r))
  return child.pid!
}

describe("stale temporary files", () => {
  it("are removed on run and resume when their writer is gone; a live writer's are kept", async () => {
    const store = tempStore()
    await Effect.runPromise(runPipeline(toy, { store, runId: "a" }))
    const dead = await deadPid()
    const sleeper = spawn("sleep", ["30"])
    try {
      const cache = join(store, "cache")
      const killedStage = join(cache, `.tmp-${"ab".repeat(32)}-${dead}-0123abcd`)
      mkdirSync(killedStage)
      writeFileSync(join(killedStage, "squares.parquet"), "half a file")
      const killedCheckpoint = join(store, "runs/a/stages/accumulate/checkpoints", `.tmp-step-000000000003-${dead}-89abcdef`)
      mkdirSync(killedCheckpoint, { recursive: true })
      const killedRecord = join(store, "runs/a", `.tmp-run.json-${dead}-00ff00ff`)
      writeFileSync(killedRecord, "{")
      const live = join(cache, `.tmp-${"cd".repeat(32)}-${sleeper.pid}-0123abcd`)
      mkdirSync(live)
      const remote = join(cache, `.tmp-${"ef".repeat(32)}-${dead}-44556677`)
      mkdirSync(remote)
      mkdirSync(join(store, "runs/elsewhere"), { recursive: true })
      writeFileSync(join(store, "runs/elsewhere/lock"), JSON.stringify({ pid: dead, host: "another-host", startedAt: "now" }))

      const reporter = collectingReporter()
      await Effect.runPromise(resumePipeline(toy, { store, runId: "a", reporter }))
      // The pid of the remote lock protects every temporary with that pid.
      expect(existsSync(remote)).toBe(true)
      expect(existsSync(live)).toBe(true)
      expect(existsSync(killedStage)).toBe(true)

      // Without the remote lock, the dead writer's temporaries go; the live one's stay.
      writeFileSync(join(store, "runs/elsewhere/lock"), JSON.stringify({ pid: dead + 1_000_000, host: "another-host", startedAt: "now" }))
      const second = collectingReporter()
      await Effect.runPromise(runPipeline(toy, { store, runId: "b", reporter: second }))
      for (const p of [killedStage, killedCheckpoint, killedRecord, remote]) expect(existsSync(p), p).toBe(false)
      expect(existsSync(live)).toBe(true)
      expect(second.events.some((e) => e.type === "warning" && /removed 4 temporary file\(s\) left by killed processes/.test(e.message))).toBe(true)
    } finally {
      sleeper.kill()
    }
  })
})
