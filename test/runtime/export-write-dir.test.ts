/** The export's atomic directory write: all files or no directory, never a half-written export. */
import { describe, expect, it } from "vitest"
import { Effect } from "effect"
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { writeDirAtomic } from "@dpipe/runtime/export/write-dir"
import { tempStore } from "./helpers.ts"

const bytes = (s: string) => new TextEncoder().encode(s)

describe("writeDirAtomic", () => {
  it("writes every file into the new directory, and into an existing empty one", async () => {
    const parent = tempStore()
    const out = join(parent, "model")
    await Effect.runPromise(writeDirAtomic(out, [{ name: "a.json", bytes: bytes("{}") }, { name: "b.bin", bytes: new Uint8Array([1, 2, 3]) }]))
    expect(readdirSync(out).sort()).toEqual(["a.json", "b.bin"])
    expect([...readFileSync(join(out, "b.bin"))]).toEqual([1, 2, 3])
    const empty = join(parent, "empty")
    mkdirSync(empty)
    await Effect.runPromise(writeDirAtomic(empty, [{ name: "a.json", bytes: bytes("{}") }]))
    expect(readdirSync(empty)).toEqual(["a.json"])
    expect(readdirSync(parent).sort()).toEqual(["empty", "model"])
  })

  it("a failure part-way leaves no directory and no temporary files; a non-empty target is left alone", async () => {
    const parent = tempStore()
    const out = join(parent, "model")
    // The second file of the same name fails after the first was written.
    const failed = await Effect.runPromise(Effect.flip(writeDirAtomic(out, [{ name: "a", bytes: bytes("1") }, { name: "a", bytes: bytes("2") }])))
    expect(failed._tag).toBe("ExportFailed")
    expect(failed.message).toMatch(/nothing was written there/)
    expect(readdirSync(parent)).toEqual([])
    mkdirSync(out)
    writeFileSync(join(out, "keep"), "mine")
    const refused = await Effect.runPromise(Effect.flip(writeDirAtomic(out, [{ name: "a", bytes: bytes("1") }])))
    expect(refused.message).toMatch(/already exists and is not empty/)
    expect(readdirSync(out)).toEqual(["keep"])
    expect(readdirSync(parent)).toEqual(["model"])
  })
})
