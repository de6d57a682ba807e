/**
 * Stage selection (selection.ts): `run --force` recomputes a node and its dependents even
 * when cached, and a forced DP stage draws fresh noise and spends privacy again (plan
 * predicts it, the store ledger records it); `--until` runs a node and its ancestors;
 * `--only` runs one node on cached inputs and refuses, before writing anything, when
 * they are not cached. A cached re-run with nothing new does not add a run directory.
 */
import { describe, expect, it } from "vitest"
import { existsSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { cli, listDir, repoRoot, tempStore } from "./helpers.ts"

const env = { DPIPE_PIPELINES: join(repoRoot, "test/runtime/pipelines-selection") }

interface Event {
  readonly type: string
  readonly node?: string
}
const events = (stdout: string): Array<Event> => stdout.trim().split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Event)
const started = (stdout: string) => events(stdout).filter((e) => e.type === "stage-start").map((e) => e.node).sort()
const record = (store: string, id: string) => JSON.parse(readFileSync(join(store, "runs", id, "run.json"), "utf8"))
const storeLedger = (store: string) => JSON.parse(readFileSync(join(store, "privacy-ledger.json"), "utf8")) as { entries: Array<{ runId: string; stageKey: string; reserved?: boolean }> }

const setup = () => {
  const store = tempStore()
  writeFileSync(join(store, "numbers.txt"), "1\n2\n3\n4\n")
  return { store, args: ["--store", store, "--set", `source.path=${join(store, "numbers.txt")}`] }
}

describe("stage selection", () => {
  it("--force reruns a cached DP stage and its dependents with fresh noise; plan predicts the new spend and the ledger records it", async () => {
    const { store, args } = setup()
    expect((await cli(["run", "select-toy", ...args, "--run-id", "a"], env)).code).toBe(0)

    // Without --force everything is cached.
    const again = await cli(["plan", "select-toy", ...args], env)
    expect(again.stdout).toMatch(/dp\s+\S+ \(DP\)\s+cached/)

    const plan = await cli(["plan", "select-toy", ...args, "--force", "dp", "--json"], env)
    expect(plan.code).toBe(0)
    const report = JSON.parse(plan.stdout) as {
      nodes: Array<{ id: string; status: string }>
      forcedSpend: Array<{ node: string; epsilon: Record<string, number> }>
      datasets: Array<{ spent: number; predicted: number; total: number }>
    }
    const status = Object.fromEntries(report.nodes.map((n) => [n.id, n.status]))
    expect(status).toEqual({ source: "cached", constant: "cached", dp: "forced", report: "forced" })
    expect(report.forcedSpend.map((f) => f.node)).toEqual(["dp"])
    expect(report.forcedSpend[0]!.epsilon["pld"]).toBeGreaterThan(0)
    // The store-wide forecast counts the earlier release and the new one.
    const ds = report.datasets[0]!
    expect(ds.spent).toBeGreaterThan(0)
    expect(ds.total).toBeGreaterThan(ds.spent)
    expect(ds.total).toBeGreaterThan(ds.predicted)
    const text = await cli(["plan", "select-toy", ...args, "--force", "dp"], env)
    expect(text.stdout).toContain("dp: FORCED: a DP stage executed again draws fresh noise and spends privacy again")

    const forced = await cli(["run", "select-toy", ...args, "--force", "dp", "--run-id", "f", "--json"], env)
    expect(forced.code).toBe(0)
    expect(started(forced.stdout)).toEqual(["dp", "report"])
    const a = record(store, "a")
    const f = record(store, "f")
    expect(f.forced).toEqual(["dp", "report"])
    expect(f.nodes.source.key).toBe(a.nodes.source.key)
    expect(f.nodes.dp.key).not.toBe(a.nodes.dp.key)
    const release = (r: { nodes: Record<string, { key: string; outputs: Record<string, { file: string }> }> }) =>
      JSON.parse(readFileSync(join(store, "cache", r.nodes["dp"]!.key, r.nodes["dp"]!.outputs["release"]!.file), "utf8")) as { value: number }
    expect(release(f).value).not.toBe(release(a).value)
    // Spent again: the store ledger holds both releases.
    const spent = storeLedger(store).entries.filter((e) => e.reserved !== true)
    expect(spent.map((e) => e.runId).sort()).toEqual(["a", "f"])
    expect(new Set(spent.map((e) => e.stageKey)).size).toBe(2)
  }, 180_000)

  it("--until runs a node and its ancestors; --only refuses uncached inputs before writing anything, then runs just that node", async () => {
    const { store, args } = setup()
    const refused = await cli(["run", "select-toy", ...args, "--only", "report"], env)
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain("source, dp are not cached")
    expect(refused.stderr).toContain("--until dp")
    expect(listDir(join(store, "runs"))).toEqual([])
    expect(existsSync(join(store, "cache"))).toBe(false)

    const until = await cli(["run", "select-toy", ...args, "--until", "dp", "--run-id", "u", "--json"], env)
    expect(until.code).toBe(0)
    expect(started(until.stdout)).toEqual(["dp", "source"])
    expect(Object.keys(record(store, "u").nodes).sort()).toEqual(["dp", "source"])

    const only = await cli(["run", "select-toy", ...args, "--only", "report", "--run-id", "o", "--json"], env)
    expect(only.code).toBe(0)
    expect(started(only.stdout)).toEqual(["report"])
    expect(record(store, "o").status).toBe("succeeded")

    const typo = await cli(["plan", "select-toy", ...args, "--until", "dpp"], env)
    expect(typo.code).toBe(1)
    expect(typo.stderr).toContain(`no node "dpp". Did you mean dp?`)
  }, 180_000)

  it("a re-run with every stage cached and the same config adds no run directory unless asked", async () => {
    const { store, args } = setup()
    expect((await cli(["run", "select-toy", ...args], env)).code).toBe(0)
    const [first] = listDir(join(store, "runs"))
    const again = await cli(["run", "select-toy", ...args], env)
    expect(again.code).toBe(0)
    expect(again.stdout).toContain(`run ${first} has the same pipeline, scale, settings and stage keys`)
    expect(listDir(join(store, "runs"))).toEqual([first])
    // Another setting is another run.
    expect((await cli(["run", "select-toy", ...args, "--set", "report.scale=3"], env)).code).toBe(0)
    expect(listDir(join(store, "runs"))).toHaveLength(2)
    // Asked for: a new run directory, every stage cached.
    const asked = await cli(["run", "select-toy", ...args, "--new-run", "--json"], env)
    expect(asked.code).toBe(0)
    expect(started(asked.stdout)).toEqual([])
    expect(listDir(join(store, "runs"))).toHaveLength(3)
  }, 180_000)
})
