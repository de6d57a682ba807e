/**
 * `pnpm bench cluster`: the cluster mode (README, "Several machines") on this machine,
 * with a throwaway Postgres and runner processes.
 *
 * - Scheduling overhead per no-op stage: a chain of 20 no-op stages run locally and on
 *   one runner (each in a fresh store), from the run's start to its end in run.json
 *   (process start-up and planning excluded), divided by the stages.
 * - A 4-run mini sweep (four independent CPU-bound fits and a summary) on one runner
 *   and on two runners (one slot each), and locally for reference.
 * Prints figures and ratios measured side by side; asserts nothing.
 */
import { spawn, type ChildProcess } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { freePort, startPostgres } from "../test/runtime/cluster/postgres.ts"
import { NOOP_STAGES } from "./cluster-pipelines/noop-chain.ts"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
const env = { ...process.env, DPIPE_PIPELINES: join(root, "bench", "cluster-pipelines") }

const cli = (args: ReadonlyArray<string>): Promise<{ code: number | null; out: string }> =>
  new Promise((resolve) => {
    const child = spawn(process.execPath, [join(root, "bin/pipeline.ts"), ...args], { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] })
    let out = ""
    child.stdout.on("data", (d) => (out += String(d)))
    child.stderr.on("data", (d) => (out += String(d)))
    child.on("close", (code) => resolve({ code, out }))
  })

/** Seconds from the run's start to its end, from run.json. */
const runSeconds = (store: string, runId: string): number => {
  const r = JSON.parse(readFileSync(join(store, "runs", runId, "run.json"), "utf8")) as { createdAt: string; updatedAt: string; status: string }
  if (r.status !== "succeeded") throw new Error(`run ${runId} ${r.status}`)
  return (Date.parse(r.updatedAt) - Date.parse(r.createdAt)) / 1000
}

const startRunner = async (store: string, url: string): Promise<ChildProcess> => {
  const port = await freePort()
  const child = spawn(process.execPath, [join(root, "bin/pipeline.ts"), "runner", "--cluster", url, "--store", store, "--host", "127.0.0.1", "--listen", "127.0.0.1", "--port", String(port)], {
    cwd: root,
    env,
    stdio: "ignore"
  })
  const log = join(store, "runners", `127.0.0.1_${port}.log`)
  const t0 = Date.now()
  while (!(existsSync(log) && readFileSync(log, "utf8").includes("joined"))) {
    if (Date.now() - t0 > 120_000) throw new Error("a runner did not start within 2 minutes")
    await new Promise((r) => setTimeout(r, 100))
  }
  return child
}

const stopAll = async (children: ReadonlyArray<ChildProcess>) => {
  await Promise.all(children.map((c) => new Promise<void>((resolve) => {
    if (c.exitCode !== null || c.signalCode !== null) return resolve()
    c.once("close", () => resolve())
    c.kill("SIGTERM")
  })))
}

const timed = async (store: string, runId: string, args: ReadonlyArray<string>): Promise<number> => {
  const r = await cli(["run", ...args, "--store", store, "--run-id", runId])
  if (r.code !== 0) throw new Error(`run ${args.join(" ")} failed:\n${r.out}`)
  return runSeconds(store, runId)
}

export const main = async (): Promise<void> => {
  const pg = await startPostgres()
  const dirs: Array<string> = []
  const fresh = () => {
    const d = mkdtempSync(join(tmpdir(), "dpipe-bench-cluster-"))
    dirs.push(d)
    return d
  }
  const children: Array<ChildProcess> = []
  try {
    const cluster = ["--cluster", pg.url]
    // Scheduling overhead per no-op stage.
    const localNoop = await timed(fresh(), "noop", ["noop-chain"])
    const s1 = fresh()
    const one = [await startRunner(s1, pg.url)]
    children.push(...one)
    const clusterNoop = await timed(s1, "noop", ["noop-chain", ...cluster])
    const perLocal = (localNoop / NOOP_STAGES) * 1000
    const perCluster = (clusterNoop / NOOP_STAGES) * 1000
    console.log(`no-op stage, scheduling overhead: local ${perLocal.toFixed(1)} ms/stage, cluster (1 runner) ${perCluster.toFixed(1)} ms/stage, ` +
      `cluster - local ${(perCluster - perLocal).toFixed(1)} ms/stage, ratio ${(perCluster / perLocal).toFixed(1)}x (${NOOP_STAGES}-stage chain)`)
    // The 4-run mini sweep: one runner (the one above, new store), then two.
    const sweepOneStore = fresh()
    await stopAll(one)
    const r1 = await startRunner(sweepOneStore, pg.url)
    children.push(r1)
    const sweepOne = await timed(sweepOneStore, "sweep", ["mini-sweep", ...cluster])
    await stopAll([r1])
    const sweepTwoStore = fresh()
    const two = [await startRunner(sweepTwoStore, pg.url), await startRunner(sweepTwoStore, pg.url)]
    children.push(...two)
    const sweepTwo = await timed(sweepTwoStore, "sweep", ["mini-sweep", ...cluster])
    await stopAll(two)
    const sweepLocal = await timed(fresh(), "sweep", ["mini-sweep"])
    console.log(`4-run mini sweep: 1 runner ${sweepOne.toFixed(1)} s, 2 runners ${sweepTwo.toFixed(1)} s, speed-up ${(sweepOne / sweepTwo).toFixed(2)}x; ` +
      `local (one process) ${sweepLocal.toFixed(1)} s`)
  } finally {
    await stopAll(children)
    pg.stop()
    for (const d of dirs) rmSync(d, { recursive: true, force: true })
  }
}
