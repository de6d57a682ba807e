/**
 * `pnpm bench [name...]`: runs bench/<name>.ts for each name (all when none given).
 * Benchmarks print figures and ratios measured side by side; they assert nothing.
 */
import { readdirSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"

const here = dirname(fileURLToPath(import.meta.url))
const available = readdirSync(here)
  .filter((f) => f.endsWith(".ts") && f !== "run.ts" && !f.startsWith("_"))
  .map((f) => f.slice(0, -3))
  .sort()
const args = process.argv.slice(2)
const names = args.filter((a) => !a.startsWith("-"))
const chosen = names.length > 0 ? names : available
for (const name of chosen) {
  if (!available.includes(name)) {
    console.error(`unknown benchmark "${name}"; available: ${available.join(", ")}`)
    process.exit(2)
  }
}
for (const name of chosen) {
  if (!args.includes("--json")) console.log(`\n== bench ${name} ==`)
  const mod = (await import(pathToFileURL(join(here, `${name}.ts`)).href)) as { main?: (argv: ReadonlyArray<string>) => Promise<void> }
  if (typeof mod.main === "function") await mod.main(args.filter((a) => a !== name))
}
