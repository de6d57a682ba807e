/** The README's example is real: its code is pipelines/example.ts verbatim, and it runs. */
import { describe, expect, it } from "vitest"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { Effect } from "effect"
import { runPipeline } from "@dpipe/runtime"
import example from "../pipelines/example.ts"
import { repoRoot, tempStore } from "./runtime/helpers.ts"

describe("README", () => {
  it("shows pipelines/example.ts verbatim", () => {
    const readme = readFileSync(join(repoRoot, "README.md"), "utf8")
    const file = readFileSync(join(repoRoot, "pipelines/example.ts"), "utf8")
    expect(readme).toContain(file.trim())
    expect(readme).toContain("pnpm test")
    expect(readme).toContain("pnpm pipeline run vaultgemma-1b")
  })

  it("its example pipeline runs and counts", async () => {
    const store = tempStore()
    const summary = await Effect.runPromise(runPipeline(example, { store, settings: { "write.count": 25 } }))
    const key = summary.record.nodes["count"]!.key!
    expect(JSON.parse(readFileSync(join(store, "cache", key, "count.json"), "utf8"))).toEqual({ word: "hello", count: 25 })
  })
})
