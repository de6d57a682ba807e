/**
 * `pipeline ledger <run>` reads the run's Parquet ledger in process (no Python on PATH)
 * and composes its events with the accountants of the composition root: the figures
 * equal the run's own privacy statement. `pipeline diff` names the settings, stage
 * configs, keys, spend and summary values that differ between two runs.
 */
import { describe, expect, it } from "vitest"
import { readFileSync, writeFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { cli, repoRoot, tempStore } from "./helpers.ts"

const env = { DPIPE_PIPELINES: join(repoRoot, "test/runtime/pipelines-selection") }

describe("pipeline ledger and diff", () => {
  it("ledger shows events, steps and epsilon by accountant; diff shows config, key and result differences", async () => {
    const store = tempStore()
    writeFileSync(join(store, "numbers.txt"), "1\n2\n3\n")
    const args = ["--store", store, "--set", `source.path=${join(store, "numbers.txt")}`]
    expect((await cli(["run", "select-toy", ...args, "--run-id", "a"], env)).code).toBe(0)
    expect((await cli(["run", "select-toy", ...args, "--set", "dp.steps=300", "--set", "report.scale=3", "--run-id", "b"], env)).code).toBe(0)
    const statement = JSON.parse(readFileSync(join(store, "runs/b/run.json"), "utf8")).privacy as { delta: number; epsilon: Record<string, number> }

    // Only node itself on PATH: nothing can shell out to python.
    const noPython = { ...env, PATH: dirname(process.execPath) }
    const json = await cli(["ledger", "b", "--store", store, "--json"], noPython)
    expect(json.stderr).toBe("")
    expect(json.code).toBe(0)
    const ledger = JSON.parse(json.stdout) as { delta: number; epsilon: Record<string, number>; entries: Array<{ node: string; steps: number }> }
    expect(ledger.delta).toBe(statement.delta)
    expect(ledger.entries.map((e) => [e.node, e.steps])).toEqual([["dp", 300]])
    expect(Object.keys(ledger.epsilon).sort()).toEqual(["pld", "rdp"])
    for (const [k, v] of Object.entries(statement.epsilon)) expect(ledger.epsilon[k]).toBeCloseTo(v, 9)
    const text = await cli(["ledger", "b", "--store", store], noPython)
    expect(text.stdout).toContain("PoissonSampledGaussian(q=0.01, sigma=1, add_remove) x 300")
    expect(text.stdout).toMatch(/run total: epsilon [\d.]+ \(pld\), [\d.]+ \(rdp\) at delta 1e-5/)

    const diff = await cli(["diff", "a", "b", "--store", store, "--json"], env)
    expect(diff.code).toBe(0)
    const d = JSON.parse(diff.stdout) as Record<string, Array<{ what: string; a: string; b: string }>>
    const whats = (k: string) => d[k]!.map((x) => x.what)
    expect(whats("config")).toEqual(expect.arrayContaining(["--set dp.steps", "--set report.scale", "dp.steps", "report.scale"]))
    expect(d["config"]!.find((x) => x.what === "dp.steps")).toEqual({ what: "dp.steps", a: "100", b: "300" })
    expect(whats("config")).not.toContain("--set source.path")
    expect(whats("keys")).toEqual(expect.arrayContaining(["dp", "report"]))
    expect(whats("privacy")).toEqual(["epsilon.pld", "epsilon.rdp"])
    expect(whats("summary")).toEqual(["report.summary.value"])
    const plain = await cli(["diff", "a", "b", "--store", store], env)
    expect(plain.stdout).toContain("stage keys:")
    expect(plain.stdout).toMatch(/--set report\.scale\s+-\s+3/)
  }, 240_000)
})
