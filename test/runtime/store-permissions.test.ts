/**
 * The run store is for its owner only (docs/privacy.md, P10): directories 0700, files
 * 0600, whatever the umask; `run` warns about an existing store others can read.
 */
import { describe, expect, it } from "vitest"
import { spawn } from "node:child_process"
import { chmodSync, readdirSync, statSync } from "node:fs"
import { join } from "node:path"
import { cli, repoRoot, tempStore, testPipelines } from "./helpers.ts"

/** Every path under `root` with its mode bits. */
const walk = (root: string): Array<[string, number]> => {
  const out: Array<[string, number]> = [[root, statSync(root).mode & 0o777]]
  for (const name of readdirSync(root)) {
    const p = join(root, name)
    if (statSync(p).isDirectory()) out.push(...walk(p))
    else out.push([p, statSync(p).mode & 0o777])
  }
  return out
}

const runWithUmask = (umask: string, args: ReadonlyArray<string>) =>
  new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const child = spawn("sh", ["-c", `umask ${umask} && exec "$0" "$@"`, process.execPath, join(repoRoot, "bin/pipeline.ts"), ...args], {
      cwd: repoRoot,
      env: { ...process.env, DPIPE_PIPELINES: testPipelines },
      stdio: ["ignore", "ignore", "pipe"]
    })
    let stderr = ""
    child.stderr.on("data", (d) => (stderr += String(d)))
    child.on("close", (code) => resolve({ code, stderr }))
  })

describe("store permissions", () => {
  it("after a run with umask 022, no file or directory of the store is readable by group or others", async () => {
    const store = join(tempStore(), "store")
    const r = await runWithUmask("022", ["run", "toy", "--store", store, "--run-id", "p", "--json"])
    expect(r.code, r.stderr).toBe(0)
    const entries = walk(store)
    // The run made a store with everything in it: secret, cache entries, run record, ledger-free log, checkpoints.
    expect(entries.some(([p]) => p.endsWith("secret.key"))).toBe(true)
    expect(entries.some(([p]) => p.includes("/checkpoints/"))).toBe(true)
    expect(entries.some(([p]) => p.endsWith(".parquet"))).toBe(true)
    expect(entries.filter(([, mode]) => (mode & 0o077) !== 0)).toEqual([])
  }, 120_000)

  it("run warns when an existing store is readable by others, with the command that fixes it", async () => {
    const store = join(tempStore(), "store")
    expect((await cli(["run", "toy", "--store", store, "--run-id", "a", "--json"])).code).toBe(0)
    expect((await cli(["run", "toy", "--store", store, "--run-id", "b", "--json"])).stdout).not.toMatch(/readable by other users/)
    chmodSync(store, 0o755)
    chmodSync(join(store, "cache"), 0o755)
    const again = await cli(["run", "toy", "--store", store, "--run-id", "c", "--json"])
    expect(again.code, again.stderr).toBe(0)
    expect(again.stdout).toMatch(/readable by other users of this machine/)
    expect(again.stdout).toContain(`chmod -R go-rwx ${store}`)
  }, 120_000)
})
