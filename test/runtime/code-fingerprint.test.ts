/**
 * Stage keys cover the stage's code: editing a stage's module, or a project module it
 * imports, recomputes it; editing a module it does not import does not; `pipeline
 * carry` keeps the cache across an edit the user asserts changes no results. The
 * pipeline and its stages are written into a temporary folder (its node_modules links
 * to the workspace's), and every step runs the CLI in a fresh process, as a user would.
 */
import { describe, expect, it } from "vitest"
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fingerprintModule } from "@dpipe/runtime/code/fingerprint"
import { importSpecifiers } from "@dpipe/runtime/code/imports"
import { artifactDigests, cli, repoRoot, tempStore } from "./helpers.ts"

const stageModule = (name: string, helper: string) => `
import { Effect, Schema } from "effect"
import { Artifact, Stage } from "@dpipe/dsl"
import { text } from "./${helper}"

export const stage = Stage.make({
  name: "${name}",
  version: "1",
  config: Schema.Struct({}),
  outputs: { out: Artifact.json("text", Schema.Struct({ text: Schema.String }), { label: "public" }) },
  run: () => Effect.succeed({ out: { text: text() } })
})
`

/** A pipeline of two independent stages: `a` (a.ts, which imports helper.ts) and `b` (b.ts, which imports other.ts). */
const project = (): string => {
  const dir = mkdtempSync(join(tmpdir(), "dpipe-fingerprint-"))
  symlinkSync(join(repoRoot, "node_modules"), join(dir, "node_modules"))
  mkdirSync(join(dir, "pipelines"))
  mkdirSync(join(dir, "stages"))
  writeFileSync(join(dir, "stages", "helper.ts"), `export const text = () => "hello"\n`)
  writeFileSync(join(dir, "stages", "other.ts"), `export const text = () => "other"\n`)
  writeFileSync(join(dir, "stages", "a.ts"), stageModule("fp-a", "helper.ts"))
  writeFileSync(join(dir, "stages", "b.ts"), stageModule("fp-b", "other.ts"))
  writeFileSync(
    join(dir, "pipelines", "fp.ts"),
    `import { Pipeline } from "@dpipe/dsl"
import { stage as a } from "../stages/a.ts"
import { stage as b } from "../stages/b.ts"
export default Pipeline.make("fp", {}, (p) => {
  p.add("a", a, {})
  p.add("b", b, {})
})
`
  )
  return dir
}

interface Ran {
  readonly executed: ReadonlyArray<string>
  readonly keys: Readonly<Record<string, string>>
}

const runIn = async (dir: string, store: string, runId: string): Promise<Ran> => {
  const r = await cli(["run", "fp", "--store", store, "--run-id", runId, "--json"], { DPIPE_PIPELINES: join(dir, "pipelines") })
  expect(r.code, r.stderr).toBe(0)
  const events = r.stdout.trim().split("\n").map((l) => JSON.parse(l) as { type: string; node?: string })
  const record = JSON.parse(readFileSync(join(store, "runs", runId, "run.json"), "utf8")) as { nodes: Record<string, { key: string }> }
  return {
    executed: events.filter((e) => e.type === "stage-start").map((e) => e.node!).sort(),
    keys: Object.fromEntries(Object.entries(record.nodes).map(([k, n]) => [k, n.key]))
  }
}

describe("code fingerprints in stage keys", () => {
  it("finds static, dynamic, re-export and worker imports in source text", () => {
    const source = `import type { A } from "./types.ts"
import {
  b,
  type C
} from '@dpipe/dsl/stage'
export * from "./reexport.ts"
import "./side-effect.ts"
const lazy = await import("./lazy.ts")
const w = new Worker(new URL("./worker.ts", import.meta.url))
const x = "a string"`
    expect(importSpecifiers(source).sort()).toEqual(["./lazy.ts", "./reexport.ts", "./side-effect.ts", "./types.ts", "./worker.ts", "@dpipe/dsl/stage"].sort())
  })

  it("covers a stage's module, the project modules it imports (workspace packages included) and its worker, not the rest", async () => {
    const fp = await fingerprintModule(join(repoRoot, "packages/stages/src/training-stages/train.ts"))
    const files = fp.files.map((f) => f.slice(repoRoot.length + 1))
    expect(files).toContain("packages/stages/src/training-stages/train.ts")
    expect(files).toContain("packages/engine/src/train/loop.ts")
    expect(files).toContain("packages/engine/src/train/worker.ts")
    expect(files).toContain("packages/dsl/src/stage.ts")
    expect(files).not.toContain("packages/stages/src/eval-stages/evaluate.ts")
    expect(files.every((f) => !f.includes("node_modules"))).toBe(true)
    expect(fp.packages.some((p) => p.startsWith("effect@"))).toBe(true)
  })

  it("recomputes a stage when its module or a module it imports is edited, not when an unrelated one is; carry keeps the cache", async () => {
    const dir = project()
    const store = tempStore()
    const first = await runIn(dir, store, "r1")
    expect(first.executed).toEqual(["a", "b"])
    expect((await runIn(dir, store, "r2")).executed).toEqual([])

    // The stage's own module: a comment is an edit too (every byte counts).
    appendFileSync(join(dir, "stages", "a.ts"), "// reworded\n")
    const own = await runIn(dir, store, "r3")
    expect(own.executed).toEqual(["a"])
    expect(own.keys["a"]).not.toBe(first.keys["a"])
    expect(own.keys["b"]).toBe(first.keys["b"])

    // A module the stage imports.
    writeFileSync(join(dir, "stages", "helper.ts"), `export const text = () => "hello, world"\n`)
    const imported = await runIn(dir, store, "r4")
    expect(imported.executed).toEqual(["a"])

    // A module only the other stage imports: `a` stays cached.
    writeFileSync(join(dir, "stages", "other.ts"), `export const text = () => "other, edited"\n`)
    const unrelated = await runIn(dir, store, "r5")
    expect(unrelated.executed).toEqual(["b"])
    expect(unrelated.keys["a"]).toBe(imported.keys["a"])

    // A refactor the user asserts changes no result: carry the cache forward.
    writeFileSync(join(dir, "stages", "helper.ts"), `const greeting = "hello, world"\nexport const text = () => greeting\n`)
    const env = { DPIPE_PIPELINES: join(dir, "pipelines") }
    const carried = await cli(["carry", "r5", "--store", store, "--json"], env)
    expect(carried.code, carried.stderr).toBe(0)
    const outcomes = JSON.parse(carried.stdout) as Array<{ node: string; status: string }>
    expect(Object.fromEntries(outcomes.map((o) => [o.node, o.status]))).toEqual({ a: "carried", b: "unchanged" })
    const after = await runIn(dir, store, "r6")
    expect(after.executed).toEqual([])
    expect(after.keys["a"]).not.toBe(unrelated.keys["a"])
    expect(artifactDigests(store, "r6")).toEqual(artifactDigests(store, "r5"))
    const manifest = JSON.parse(readFileSync(join(store, "cache", after.keys["a"]!, "manifest.json"), "utf8"))
    expect(manifest.carriedFrom).toBe(unrelated.keys["a"])

    // carry re-keys only stages whose code alone changed: a new version is recomputed.
    writeFileSync(join(dir, "stages", "a.ts"), readFileSync(join(dir, "stages", "a.ts"), "utf8").replace(`version: "1"`, `version: "2"`))
    const refused = await cli(["carry", "r6", "--store", store, "--json"], env)
    const statuses = Object.fromEntries((JSON.parse(refused.stdout) as Array<{ node: string; status: string }>).map((o) => [o.node, o.status]))
    expect(statuses).toEqual({ a: "recompute", b: "unchanged" })
    expect((await runIn(dir, store, "r7")).executed).toEqual(["a"])
  }, 120_000)
})
