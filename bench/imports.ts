/**
 * `pnpm bench imports`: import time of each package root, measured side by side in fresh
 * Node processes (effect loaded first, so the figure is the package's own cost), with
 * the ratio to @dpipe/dsl. Shows what a light entry (@dpipe/stages/data) saves against
 * the full stages root, which loads the training engine. `--runs=N` (default 5): the
 * median of N alternating runs. Prints figures; asserts nothing.
 */
import { execFileSync } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const ROOTS = ["@dpipe/dsl", "@dpipe/random", "@dpipe/accounting", "@dpipe/data", "@dpipe/stages/data", "@dpipe/engine", "@dpipe/stages", "@dpipe/runtime"]

const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]!
}

export const main = async (argv: ReadonlyArray<string>): Promise<void> => {
  const flag = argv.find((a) => a.startsWith("--runs="))
  const runs = flag !== undefined ? Number(flag.slice("--runs=".length)) : 5
  const here = dirname(fileURLToPath(import.meta.url))
  // The probe lives in bench/ so that bare specifiers resolve from the repository.
  const dir = mkdtempSync(join(here, ".imports-"))
  const probe = join(dir, "probe.ts")
  writeFileSync(probe, 'await import("effect")\nconst t = performance.now()\nawait import(process.argv[2]!)\nconsole.log(performance.now() - t)\n')
  try {
    const times = new Map<string, Array<number>>(ROOTS.map((r) => [r, []]))
    // Alternate the roots within each round, so a change in machine load touches all alike.
    for (let r = 0; r < runs; r++) {
      for (const root of ROOTS) times.get(root)!.push(Number(execFileSync(process.execPath, [probe, root], { encoding: "utf8" }).trim()))
    }
    const base = median(times.get("@dpipe/dsl")!)
    console.log(`import time after effect, median of ${runs} fresh processes (ratio to @dpipe/dsl):`)
    for (const root of ROOTS) {
      const m = median(times.get(root)!)
      console.log(`  ${root.padEnd(20)} ${m.toFixed(0).padStart(6)} ms  x${(m / base).toFixed(2)}`)
    }
    const light = median(times.get("@dpipe/stages/data")!)
    const full = median(times.get("@dpipe/stages")!)
    console.log(`@dpipe/stages (loads the engine) / @dpipe/stages/data: x${(full / light).toFixed(2)}`)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
