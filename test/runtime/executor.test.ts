import { afterEach, describe, expect, it } from "vitest"
import { Effect, Exit } from "effect"
import { readFileSync, truncateSync, writeFileSync, existsSync } from "node:fs"
import { join } from "node:path"
import { spawn } from "node:child_process"
import { DuckDBInstance } from "@duckdb/node-api"
import { collectingReporter, readParquetTable, runPipeline, resumePipeline, type RunSummary } from "@dpipe/runtime"
import { Numbers, Totals } from "@dpipe/stages/demo/index"
import toy from "./pipelines/toy.ts"
import { listDir, outputHashes, tempStore } from "./helpers.ts"

const runToy = (store: string, runId: string, reporter = collectingReporter()) =>
  Effect.runPromiseExit(runPipeline(toy, { store, runId, reporter }))

const ok = (exit: Exit.Exit<RunSummary, unknown>): RunSummary => {
  if (Exit.isFailure(exit)) throw new Error(`run failed: ${String(exit.cause)}`)
  return exit.value
}

afterEach(() => {
  delete process.env["DPIPE_TOY_FAIL"]
})

describe("executor", () => {
  it("runs a pipeline end to end, then reuses every stage with the same outputs", async () => {
    const store = tempStore()
    const first = ok(await runToy(store, "a"))
    expect([...first.executed].sort()).toEqual(["accumulate", "after-flaky", "flaky", "generate", "square", "summarize"])
    expect(first.record.status).toBe("succeeded")
    const second = ok(await runToy(store, "b"))
    expect(second.executed).toEqual([])
    expect(second.cached.length).toBe(6)
    expect(outputHashes(store, "b")).toEqual(outputHashes(store, "a"))
    // The summary is computed from the real data: 12 accumulation steps.
    const summaryFile = join(store, "cache", second.record.nodes["summarize"]!.key!, "summary.json")
    expect(JSON.parse(readFileSync(summaryFile, "utf8")).steps).toBe(12)
  })

  it("names the failed stage and its cause; resume runs only it and its dependents", async () => {
    const store = tempStore()
    process.env["DPIPE_TOY_FAIL"] = "1"
    const failed = await runToy(store, "f")
    expect(Exit.isFailure(failed)).toBe(true)
    const message = Exit.isFailure(failed) ? String(failed.cause) : ""
    expect(message).toContain("flaky")
    expect(message).toContain("DPIPE_TOY_FAIL=1")
    const record = JSON.parse(readFileSync(join(store, "runs/f/run.json"), "utf8"))
    expect(record.status).toBe("failed")
    expect(record.nodes.flaky.status).toBe("failed")
    expect(record.nodes["after-flaky"].status).toBe("blocked")
    // Independent branches still finished.
    expect(record.nodes.summarize.status).toBe("done")
    delete process.env["DPIPE_TOY_FAIL"]
    const resumed = ok(await Effect.runPromiseExit(resumePipeline(toy, { store, runId: "f" })))
    expect([...resumed.executed].sort()).toEqual(["after-flaky", "flaky"])
    expect(resumed.record.status).toBe("succeeded")
  })

  it("detects a truncated or altered Parquet file in the cache and recomputes it", async () => {
    const store = tempStore()
    const first = ok(await runToy(store, "a"))
    const squareKey = first.record.nodes["square"]!.key!
    const file = join(store, "cache", squareKey, "squares.parquet")
    const original = readFileSync(file)
    truncateSync(file, Math.floor(original.length / 2))
    const reporter = collectingReporter()
    const second = ok(await runToy(store, "b", reporter))
    expect(second.executed).toEqual(["square"])
    expect(reporter.events.some((e) => e.type === "warning" && e.node === "square" && /truncated or altered/.test(e.message))).toBe(true)
    expect(readFileSync(file).equals(original)).toBe(true)
    // Same size, one byte flipped: also caught.
    const altered = Buffer.from(original)
    const mid = Math.floor(altered.length / 2)
    altered[mid] = altered[mid]! ^ 0xff
    writeFileSync(file, altered)
    const third = ok(await runToy(store, "c"))
    expect(third.executed).toEqual(["square"])
    expect(readFileSync(file).equals(original)).toBe(true)
  })

  it("writes tables that DuckDB reads back with the same values", async () => {
    const store = tempStore()
    const summary = ok(await runToy(store, "a"))
    const db = await DuckDBInstance.create(":memory:")
    const conn = await db.connect()
    const check = async (node: string, output: string, table: typeof Numbers | typeof Totals) => {
      const path = join(store, "cache", summary.record.nodes[node]!.key!, `${output}.parquet`)
      const ours: Array<Record<string, unknown>> = []
      for await (const rows of readParquetTable(path, table as typeof Numbers)) ours.push(...rows)
      const reader = await conn.runAndReadAll(`SELECT * FROM read_parquet('${path}')`)
      const theirs = reader.getRowObjectsJS()
      expect(theirs.length).toBe(ours.length)
      expect(theirs.length).toBeGreaterThan(0)
      for (let i = 0; i < ours.length; i++) {
        for (const [k, v] of Object.entries(ours[i]!)) expect(theirs[i]![k]).toEqual(v)
      }
    }
    await check("generate", "numbers", Numbers)
    await check("square", "squares", Numbers)
    await check("accumulate", "totals", Totals)
    // The privacy-free toy run still has a run record, a log and its progress record.
    expect(listDir(join(store, "runs/a/logs"))).toEqual(["events.jsonl", "run.log"])
  })

  it("refuses to run a run directory another live process holds, changing nothing", async () => {
    const store = tempStore()
    ok(await runToy(store, "held"))
    const runFile = join(store, "runs/held/run.json")
    const before = readFileSync(runFile, "utf8")
    const sleeper = spawn("sleep", ["30"])
    try {
      writeFileSync(join(store, "runs/held/lock"), JSON.stringify({ pid: sleeper.pid, host: (await import("node:os")).hostname(), startedAt: "earlier" }))
      const exit = await Effect.runPromiseExit(resumePipeline(toy, { store, runId: "held" }))
      expect(Exit.isFailure(exit)).toBe(true)
      expect(String(Exit.isFailure(exit) ? exit.cause : "")).toMatch(new RegExp(`in use by process ${sleeper.pid}`))
      expect(readFileSync(runFile, "utf8")).toBe(before)
    } finally {
      sleeper.kill()
    }
    // A lock left by a dead process is stale and taken over.
    writeFileSync(join(store, "runs/held/lock"), JSON.stringify({ pid: 999999, host: (await import("node:os")).hostname(), startedAt: "long ago" }))
    const reporter = collectingReporter()
    ok(await Effect.runPromiseExit(resumePipeline(toy, { store, runId: "held", reporter })))
    expect(reporter.events.some((e) => e.type === "warning" && /took over the lock/.test(e.message))).toBe(true)
    expect(existsSync(join(store, "runs/held/lock"))).toBe(false)
  })
})
