/**
 * The store secret (docs/privacy.md, P10): created atomically, so concurrent creations
 * agree on one 32-byte secret, and an empty or short secret is an error, never a key.
 */
import { describe, expect, it } from "vitest"
import { spawn } from "node:child_process"
import { readFileSync, writeFileSync, mkdirSync, statSync } from "node:fs"
import { join } from "node:path"
import { deriveStageSecret, loadOrCreateSecret } from "@dpipe/runtime/store/secret"
import { repoRoot, tempStore } from "./helpers.ts"

const racer = join(repoRoot, "test/runtime/fixtures/secret-racer.ts")

const race = (root: string, rounds: number, threads: number) =>
  new Promise<Array<string>>((resolve, reject) => {
    const child = spawn(process.execPath, [racer, root, String(rounds), String(threads)], { stdio: ["ignore", "pipe", "inherit"] })
    let out = ""
    child.stdout.on("data", (d) => (out += String(d)))
    child.on("close", (code) => (code === 0 ? resolve(out.trim().split("\n")) : reject(new Error(`racer exited with ${code}`))))
  })

describe("store secret", () => {
  it("1,000 concurrent creations (4 processes x 5 threads x 50 stores) never yield an empty or differing secret", async () => {
    const root = tempStore()
    const rounds = 50
    const results = (await Promise.all([0, 1, 2, 3].map(() => race(root, rounds, 5)))).flat()
    expect(results.length).toBe(1000)
    const byRound = new Map<string, Set<string>>()
    for (const line of results) {
      const [round = "", value = ""] = line.split(" ")
      expect(line).not.toMatch(/ERROR/)
      expect(value).toMatch(/^[0-9a-f]{64}$/) // 32 bytes, never empty
      byRound.set(round, (byRound.get(round) ?? new Set()).add(value))
    }
    expect(byRound.size).toBe(rounds)
    for (const [round, values] of byRound) {
      expect(values.size).toBe(1)
      // What every racer used is what the file holds, and the file is private.
      const file = join(root, `round-${round}`, "secret.key")
      expect(readFileSync(file).toString("hex")).toBe([...values][0])
      expect(statSync(file).mode & 0o077).toBe(0)
    }
  }, 120_000)

  it("an empty or short secret file is an error that says how to fix it, never a key", async () => {
    for (const bytes of [0, 5, 31, 33]) {
      const dir = tempStore()
      mkdirSync(dir, { recursive: true })
      writeFileSync(join(dir, "secret.key"), Buffer.alloc(bytes, 7), { mode: 0o600 })
      await expect(loadOrCreateSecret(join(dir, "secret.key"))).rejects.toThrow(new RegExp(`holds ${bytes} bytes, expected 32.*Restore it from a backup`))
    }
    expect(() => deriveStageSecret(new Uint8Array(0), "key", "noise")).toThrow(/refusing to derive keys/)
  })
})
