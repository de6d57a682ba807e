/**
 * Every dpipe package has a documented root export (package.json "exports" ".", an
 * index.ts that says what it exports), the pipelines under pipelines/ and the README's
 * code import @dpipe packages from their roots (or @dpipe/stages/data, the documented
 * light entry of the stages), and light entry points do not load the training engine.
 */
import { describe, expect, it } from "vitest"
import { execFileSync } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"

const root = resolve(import.meta.dirname, "../..")
const PACKAGES = ["dsl", "runtime", "accounting", "engine", "data", "random", "stages"]
/** Entry points a pipeline may import: the roots, and the data stages without the engine. */
const ENTRY_POINTS = [...PACKAGES.map((p) => `@dpipe/${p}`), "@dpipe/stages/data"]

/** The example pipelines a newcomer copies from. */
const EXAMPLES = ["example.ts", "demo.ts", "data-tiny.ts", "vaultgemma-1b.ts", "own-mail.ts"]

const importsOf = (source: string): Array<string> => [...source.matchAll(/from\s+"(@dpipe\/[^"]+)"/g)].map((m) => m[1]!)

describe("package roots", () => {
  it.each(PACKAGES)("@dpipe/%s exports a documented root", (name) => {
    const pkg = JSON.parse(readFileSync(join(root, "packages", name, "package.json"), "utf8")) as { exports: Record<string, string> }
    expect(pkg.exports["."]).toBe("./src/index.ts")
    const index = readFileSync(join(root, "packages", name, "src", "index.ts"), "utf8")
    // A header comment naming the package, then exports.
    expect(index).toMatch(new RegExp(`^/\\*\\*\\n \\* @dpipe/${name}: `))
    expect(index).toMatch(/^export /m)
  })

  it("pipelines and the README import @dpipe packages from their roots", () => {
    const files = EXAMPLES.map((f) => join(root, "pipelines", f))
    const deep: Array<string> = []
    for (const f of files) for (const spec of importsOf(readFileSync(f, "utf8"))) if (!ENTRY_POINTS.includes(spec)) deep.push(`${f}: ${spec}`)
    const readmeCode = [...readFileSync(join(root, "README.md"), "utf8").matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!).join("\n")
    for (const spec of importsOf(readmeCode)) if (!ENTRY_POINTS.includes(spec)) deep.push(`README.md: ${spec}`)
    expect(deep).toEqual([])
  })

  it("the light entry points never load the training engine (TensorFlow.js); the stages root does", () => {
    // A resolve hook records every module the import loads.
    const dir = mkdtempSync(join(tmpdir(), "dpipe-roots-"))
    const probe = join(root, "test", "architecture", `.probe-${process.pid}.ts`)
    writeFileSync(probe, [
      'import { registerHooks } from "node:module"',
      "const seen: Array<string> = []",
      "registerHooks({ resolve: (specifier, context, next) => { const r = next(specifier, context); seen.push(r.url); return r } })",
      "await import(process.argv[2]!)",
      'console.log(JSON.stringify(seen.some((u) => u.includes("/@tensorflow/"))))'
    ].join("\n"))
    const node = join(root, "node_modules", ".bin", "node")
    const loadsEngine = (spec: string): boolean => JSON.parse(execFileSync(existsSync(node) ? node : process.execPath, [probe, spec], { cwd: dir, encoding: "utf8" }).trim()) as boolean
    try {
      for (const light of ["@dpipe/dsl", "@dpipe/data", "@dpipe/accounting", "@dpipe/random", "@dpipe/stages/data"]) expect([light, loadsEngine(light)]).toEqual([light, false])
      expect(loadsEngine("@dpipe/stages")).toBe(true)
    } finally {
      execFileSync("rm", ["-f", probe])
    }
  }, 120_000)
})
