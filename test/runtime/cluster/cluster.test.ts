/**
 * The cluster mode end to end: a throwaway Postgres (postgres.ts), runner processes
 * (`pipeline runner`) on one shared store, coordinators (`pipeline run|resume --cluster`).
 *
 * - Postgres unreachable: the run stops with an error naming the URL and writes nothing.
 * - `vaultgemma-1b --scale micro` on two runners, the runner executing dp-train killed
 *   with SIGKILL after its first checkpoint: the run finishes on the other runner,
 *   which restores that checkpoint; every artifact is byte-identical to a local run
 *   with the same store secret, the privacy ledger has the steps of one uninterrupted
 *   run, and both runners executed stages.
 * - The coordinator killed with SIGKILL mid-run: `resume --cluster` finishes the same
 *   run and no finished stage is executed again.
 * - A runner stopped with SIGTERM mid-stage: the stage checkpoints, the runner leaves,
 *   and another runner continues the stage from that checkpoint.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { ChildProcess } from "node:child_process"
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { readLedger } from "@dpipe/runtime"
import { loadOrCreateSecret } from "@dpipe/runtime/store/secret"
import { artifactDigests, cli, repoRoot, startCli, tempStore, waitFor } from "../helpers.ts"
import { freePort, startPostgres, type TestPostgres } from "./postgres.ts"

const env = { DPIPE_PIPELINES: join(repoRoot, "pipelines") }
const settings = ["--set", "dp-train.checkpointEvery=3", "--set", "baseline.checkpointEvery=3"]

interface Runner {
  readonly address: string
  readonly child: ChildProcess
  readonly done: Promise<unknown>
}

const runners: Array<Runner> = []
let pg: TestPostgres | undefined

const startRunner = async (store: string, url: string): Promise<Runner> => {
  const port = await freePort()
  const address = `127.0.0.1:${port}`
  const { child, done } = startCli(["runner", "--cluster", url, "--store", store, "--host", "127.0.0.1", "--listen", "127.0.0.1", "--port", String(port)], env)
  const runner = { address, child, done }
  runners.push(runner)
  return runner
}

const runnerLog = (store: string, address: string): string => {
  const path = join(store, "runners", `${address.replace(/[^A-Za-z0-9_.-]/g, "_")}.log`)
  return existsSync(path) ? readFileSync(path, "utf8") : ""
}

/** How many times a runner's log says it started executing `node` of `runId`. */
const executions = (log: string, runId: string, node: string): number => log.split("\n").filter((l) => l.includes(`stage ${node} of ${runId}: executing`)).length

const lines = (path: string): Array<Record<string, unknown>> =>
  existsSync(path) ? readFileSync(path, "utf8").split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as Record<string, unknown>) : []

const runRecord = (store: string, runId: string) =>
  JSON.parse(readFileSync(join(store, "runs", runId, "run.json"), "utf8")) as { status: string; nodes: Record<string, { status: string; telemetry?: Record<string, unknown> }> }

beforeAll(async () => {
  pg = await startPostgres()
}, 60_000)

afterAll(async () => {
  for (const r of runners) if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill("SIGTERM")
  await Promise.race([Promise.all(runners.map((r) => r.done)), new Promise((r) => setTimeout(r, 15_000))])
  for (const r of runners) if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill("SIGKILL")
  pg?.stop()
}, 60_000)

describe("cluster", () => {
  it("refuses to start when Postgres is unreachable, naming the URL and writing nothing", async () => {
    const store = join(tempStore(), "store")
    const port = await freePort()
    const url = `postgres://dpipe:secret@127.0.0.1:${port}/postgres`
    const r = await cli(["run", "demo", "--store", store, "--cluster", url], env)
    expect(r.code).not.toBe(0)
    expect(r.stderr).toContain("ClusterUnreachable")
    expect(r.stderr).toContain(`127.0.0.1:${port}`)
    expect(r.stderr).not.toContain("secret@")
    expect(existsSync(store) ? readdirSync(store) : []).toEqual([])
  }, 60_000)

  it("runs vaultgemma-1b micro on two runners; a runner killed mid dp-train hands it to the other, byte-identical to a local run", async () => {
    const url = pg!.url
    // A local reference run and the cluster's run share one store secret. They start
    // together, so that both fingerprint the same code.
    const local = tempStore()
    await loadOrCreateSecret(join(local, "secret.key"))
    const store = tempStore()
    mkdirSync(store, { recursive: true })
    copyFileSync(join(local, "secret.key"), join(store, "secret.key"))
    const a = await startRunner(store, url)
    const b = await startRunner(store, url)
    await waitFor(() => runnerLog(store, a.address).includes("joined") && runnerLog(store, b.address).includes("joined"), 60_000, "two runners")

    const reference = cli(["run", "vaultgemma-1b", "--scale", "micro", "--store", local, "--run-id", "ref", ...settings], env)
    const coordinator = startCli(["run", "vaultgemma-1b", "--scale", "micro", "--store", store, "--run-id", "c1", "--cluster", url, ...settings], env)
    // Once dp-train has written a checkpoint, kill the runner executing it.
    const trainEvents = join(store, "runs", "c1", "logs", "remote", "dp-train.jsonl")
    const checkpoints = join(store, "runs", "c1", "stages", "dp-train", "checkpoints")
    await waitFor(() => existsSync(checkpoints) && readdirSync(checkpoints).some((f) => f.startsWith("step-")), 150_000, "a dp-train checkpoint")
    const executing = lines(trainEvents).map((e) => String(e["message"] ?? "")).find((m) => m.startsWith("executing on runner "))
    const victim = [a, b].find((r) => executing?.includes(r.address) === true)!
    const survivor = victim === a ? b : a
    expect(victim).toBeDefined()
    victim.child.kill("SIGKILL")

    const done = await coordinator.done
    expect(done.code, done.stderr + done.stdout).toBe(0)
    const ref = await reference
    expect(ref.code, ref.stderr).toBe(0)
    expect(runRecord(store, "c1").status).toBe("succeeded")
    // dp-train finished on the survivor, from the victim's checkpoint.
    expect(executions(runnerLog(store, survivor.address), "c1", "dp-train")).toBe(1)
    expect(lines(trainEvents).some((e) => String(e["message"] ?? "").startsWith("restored checkpoint at step"))).toBe(true)
    expect(runRecord(store, "c1").nodes["dp-train"]!.telemetry?.["runner"]).toBe(survivor.address)
    // Both runners executed stages.
    const byRunner = [a, b].map((r) => runnerLog(store, r.address).split("\n").filter((l) => l.includes(": executing")).length)
    expect(byRunner.every((n) => n > 0), `stages executed per runner: ${byRunner.join(", ")}`).toBe(true)
    // Byte-identical artifacts, and the ledger counts every step once. (Equal keys first:
    // code edited between the two runs changes the keys and the secrets derived from them.)
    const keys = (s: string, id: string) => Object.fromEntries(Object.entries(JSON.parse(readFileSync(join(s, "runs", id, "run.json"), "utf8")).nodes as Record<string, { key?: string }>).map(([n, r]) => [n, r.key]))
    expect(keys(store, "c1"), "stage keys of the cluster run and the local run (was the code edited during the test?)").toEqual(keys(local, "ref"))
    expect(artifactDigests(store, "c1")).toEqual(artifactDigests(local, "ref"))
    const steps = async (s: string, id: string) => (await readLedger(join(s, "runs", id, "ledger.parquet"))).map((e) => [e.id, e.steps, e.reused] as const).sort()
    expect(await steps(store, "c1")).toEqual(await steps(local, "ref"))
    // SIGTERM stops the survivor cleanly: it leaves the registry.
    survivor.child.kill("SIGTERM")
    await survivor.done
    expect(runnerLog(store, survivor.address)).toContain(`runner ${survivor.address} stopped`)
  }, 300_000)

  it("continues a run whose coordinator was killed (resume --cluster executes no finished stage again), and a stage whose runner got SIGTERM", async () => {
    const url = pg!.url
    const store = tempStore()
    const r = await startRunner(store, url)
    await waitFor(() => runnerLog(store, r.address).includes("joined"), 60_000, "a runner")
    const status = await cli(["cluster", "status", "--cluster", url], env)
    expect(status.code, status.stderr).toBe(0)
    expect(status.stdout).toMatch(new RegExp(`${r.address.replace(/\./g, "\\.")}\\s+\\S+\\s+live\\s+0/1`))
    const coordinator = startCli(["run", "demo", "--store", store, "--run-id", "d1", "--cluster", url, "--set", "accumulate.stepMs=150"], env)
    const events = join(store, "runs", "d1", "logs", "remote", "accumulate.jsonl")
    await waitFor(() => lines(events).some((e) => e["type"] === "stage-progress" && Number(e["step"]) >= 10), 90_000, "accumulate under way")
    coordinator.child.kill("SIGKILL")
    await coordinator.done

    const resumed = await cli(["resume", "d1", "--store", store, "--cluster", url], env)
    expect(resumed.code, resumed.stderr + resumed.stdout).toBe(0)
    const record = runRecord(store, "d1")
    expect(record.status).toBe("succeeded")
    expect(record.nodes["generate"]!.status).toBe("cached")
    expect(record.nodes["square"]!.status).toBe("cached")
    const log = runnerLog(store, r.address)
    for (const node of ["generate", "square", "accumulate", "summarize"]) expect(executions(log, "d1", node), node).toBe(1)

    // SIGTERM of the runner executing a stage: it checkpoints, leaves, and another continues.
    const s = await startRunner(store, url)
    await waitFor(() => runnerLog(store, s.address).includes("joined"), 60_000, "a second runner")
    const run2 = startCli(["run", "demo", "--store", store, "--run-id", "d2", "--cluster", url, "--set", "accumulate.stepMs=150", "--set", "generate.seed=8"], env)
    const events2 = join(store, "runs", "d2", "logs", "remote", "accumulate.jsonl")
    await waitFor(() => lines(events2).some((e) => e["type"] === "stage-progress" && Number(e["step"]) >= 12), 90_000, "accumulate under way")
    const executing = lines(events2).map((e) => String(e["message"] ?? "")).find((m) => m.startsWith("executing on runner "))
    const stopped = [r, s].find((x) => executing?.includes(x.address) === true)!
    const other = stopped === r ? s : r
    stopped.child.kill("SIGTERM")
    await stopped.done
    expect(runnerLog(store, stopped.address)).toContain("stage accumulate of d2: interrupted")
    const finished = await run2.done
    expect(finished.code, finished.stderr + finished.stdout).toBe(0)
    expect(executions(runnerLog(store, other.address), "d2", "accumulate")).toBe(1)
    expect(lines(events2).some((e) => /^restored checkpoint at step (1[0-9]|[2-9][0-9])/.test(String(e["message"] ?? "")))).toBe(true)
  }, 180_000)
})
