/**
 * Housekeeping (store/gc.ts): `pipeline rm` removes a run's directory but never the
 * privacy it spent (the store ledger is byte-identical afterwards) and refuses a run in
 * progress; `pipeline gc` measures the cache entries no run uses and stale temporaries
 * (a dry run deletes nothing), deletes them with --yes, keeps what runs use, and refuses
 * to delete while a run is in progress.
 */
import { describe, expect, it } from "vitest"
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { hostname } from "node:os"
import { join } from "node:path"
import { cli, listDir, repoRoot, tempStore } from "./helpers.ts"

const env = { DPIPE_PIPELINES: join(repoRoot, "test/runtime/pipelines-selection") }
const record = (store: string, id: string) => JSON.parse(readFileSync(join(store, "runs", id, "run.json"), "utf8"))

describe("pipeline rm and gc", () => {
  it("rm keeps the privacy ledger; gc removes what no run uses, only with --yes, and never while a run is in progress", async () => {
    const store = tempStore()
    writeFileSync(join(store, "numbers.txt"), "1\n2\n3\n")
    const args = ["--store", store, "--set", `source.path=${join(store, "numbers.txt")}`]
    expect((await cli(["run", "select-toy", ...args, "--run-id", "a"], env)).code).toBe(0)
    expect((await cli(["run", "select-toy", ...args, "--set", "dp.steps=50", "--run-id", "b"], env)).code).toBe(0)
    const a = record(store, "a")
    const b = record(store, "b")
    // The entries only run b uses (dp and report; all four if the code changed in between).
    const keysOf = (r: { nodes: Record<string, { key: string }> }) => Object.values(r.nodes).map((n) => n.key)
    const onlyB = keysOf(b).filter((k) => !keysOf(a).includes(k))
    expect(onlyB).toEqual(expect.arrayContaining(["dp", "report"].map((n) => b.nodes[n].key as string)))
    const ledgerBefore = readFileSync(join(store, "privacy-ledger.json"), "utf8")
    expect(JSON.parse(ledgerBefore).entries.filter((e: { runId: string }) => e.runId === "b")).toHaveLength(1)

    // A run in progress (its lock names this live process) cannot be removed, and gc deletes nothing.
    writeFileSync(join(store, "runs/a/lock"), JSON.stringify({ pid: process.pid, host: hostname(), startedAt: new Date().toISOString() }))
    const busy = await cli(["rm", "a", ...args.slice(0, 2)], env)
    expect(busy.code).toBe(1)
    expect(busy.stderr).toContain("Run a is in progress")
    const gcBusy = await cli(["gc", "--yes", ...args.slice(0, 2)], env)
    expect(gcBusy.code).toBe(1)
    expect(gcBusy.stderr).toContain("deletes nothing while a run may still record cache entries")
    writeFileSync(join(store, "runs/a/lock"), "")

    const rm = await cli(["rm", "b", ...args.slice(0, 2)], env)
    expect(rm.code).toBe(0)
    expect(rm.stdout).toContain("The privacy it spent stays spent: its 1 entry stays in the store's privacy ledger (dataset numbers")
    expect(listDir(join(store, "runs"))).toEqual(["a"])
    expect(readFileSync(join(store, "privacy-ledger.json"), "utf8")).toBe(ledgerBefore)

    // A temporary left by a writer that is gone (no such pid).
    const temp = join(store, "cache", ".tmp-deadbeef-999999999-0123abcd")
    mkdirSync(temp)
    writeFileSync(join(temp, "half"), "x".repeat(1000))

    const dry = await cli(["gc", ...args.slice(0, 2), "--json"], env)
    expect(dry.code).toBe(0)
    const report = JSON.parse(dry.stdout) as { items: Array<{ path: string; bytes: number; kind: string }>; deleted: boolean; bytes: number; kept: number }
    expect(report.deleted).toBe(false)
    expect(report.items.filter((i) => i.kind === "cache-entry").map((i) => i.path.split("/").at(-1)).sort()).toEqual([...onlyB].sort())
    expect(report.items.find((i) => i.kind === "temporary")?.path).toBe(temp)
    expect(report.items.find((i) => i.kind === "temporary")?.bytes).toBeGreaterThanOrEqual(1000)
    expect(report.kept).toBe(4)
    for (const k of onlyB) expect(existsSync(join(store, "cache", k))).toBe(true)
    const text = await cli(["gc", ...args.slice(0, 2)], env)
    expect(text.stdout).toMatch(new RegExp(`dry run: ${onlyB.length + 1} item\\(s\\), [\\d.]+ KiB would be freed\\. Delete them with: pnpm pipeline gc --yes --store /`))

    const yes = await cli(["gc", "--yes", ...args.slice(0, 2)], env)
    expect(yes.code).toBe(0)
    expect(yes.stdout).toContain(`removed ${onlyB.length + 1} item(s)`)
    for (const k of onlyB) expect(existsSync(join(store, "cache", k))).toBe(false)
    expect(existsSync(temp)).toBe(false)
    // What run a uses is still there: its plan is all cached.
    for (const n of Object.values(a.nodes) as Array<{ key: string }>) expect(existsSync(join(store, "cache", n.key, "manifest.json"))).toBe(true)
    expect(readFileSync(join(store, "privacy-ledger.json"), "utf8")).toBe(ledgerBefore)
  }, 240_000)
})

describe("the new verbs", () => {
  it("ledger, diff, rm and gc answer --help and are in the README's CLI table", async () => {
    const readme = readFileSync(join(repoRoot, "README.md"), "utf8")
    for (const verb of ["ledger", "diff", "rm", "gc"]) {
      const r = await cli([verb, "--help"])
      expect(r.code, `${verb} --help`).toBe(0)
      expect(r.stdout).toContain(verb)
      expect(readme).toContain(`| \`pnpm pipeline ${verb} `)
    }
    for (const flag of ["--force N", "--until N", "--only N", "resume <run-id> [--set k=v]"]) expect(readme).toContain(flag)
  }, 120_000)
})
