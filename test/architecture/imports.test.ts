/**
 * The direction of imports between dpipe's packages (docs/architecture.md, "Packages and
 * the direction of imports"):
 *
 *   pipelines -> stages -> engine | data | scaling | accounting | dsl;  engine, data -> random;
 *   scaling -> accounting;  data -> dsl;  runtime -> dsl;
 *   bin (the composition root) -> runtime, stages, scaling.
 *
 * The libraries (accounting, scaling, random, engine, data) must stay usable alone, so each may
 * import only the dpipe packages listed here, must declare them in its package.json, and
 * may not reach into another package by a relative path.
 */
import { describe, expect, it } from "vitest"
import { readdirSync, readFileSync, statSync } from "node:fs"
import { join, relative, resolve, sep } from "node:path"

const root = resolve(import.meta.dirname, "../..")

/** Which dpipe packages each source area may import. */
const allowed: Record<string, ReadonlyArray<string>> = {
  dsl: [],
  random: [],
  accounting: [],
  scaling: ["accounting"],
  engine: ["random"],
  data: ["dsl", "random"],
  stages: ["dsl", "accounting", "scaling", "data", "engine", "random"],
  runtime: ["dsl"],
  pipelines: ["dsl", "stages", "accounting", "scaling", "data", "engine", "random"],
  bin: ["dsl", "runtime", "stages", "scaling"]
}

const listTs = (dir: string): Array<string> =>
  readdirSync(dir).flatMap((name) => {
    const p = join(dir, name)
    if (name === "node_modules") return []
    if (statSync(p).isDirectory()) return listTs(p)
    return p.endsWith(".ts") ? [p] : []
  })

/** Module specifiers of static and dynamic imports and re-exports in a source text. */
export const importSpecifiers = (source: string): Array<string> => {
  const out: Array<string> = []
  const patterns = [/\bfrom\s+"([^"]+)"/g, /\bimport\s*\(\s*"([^"]+)"\s*\)/g, /^\s*import\s+"([^"]+)"/gm]
  for (const re of patterns) for (const m of source.matchAll(re)) out.push(m[1]!)
  return out
}

/** The violations of one file, given the area it belongs to. */
export const violations = (area: string, file: string, source: string): Array<string> => {
  const ok = allowed[area] ?? []
  const problems: Array<string> = []
  for (const spec of importSpecifiers(source)) {
    const m = /^@dpipe\/([a-z-]+)/.exec(spec)
    if (m !== null) {
      const target = m[1]!
      if (target !== area && !ok.includes(target)) problems.push(`${file}: ${area} may not import ${spec}`)
    } else if (spec.startsWith("..")) {
      const target = resolve(join(root, file, ".."), spec)
      const areaRoot = area === "pipelines" || area === "bin" ? join(root, area) : join(root, "packages", area)
      if (!target.startsWith(areaRoot + sep)) problems.push(`${file}: relative import ${spec} leaves ${area}`)
    }
  }
  return problems
}

const areas = (): Array<{ area: string; dir: string }> => [
  ...readdirSync(join(root, "packages")).map((area) => ({ area, dir: join(root, "packages", area, "src") })),
  { area: "pipelines", dir: join(root, "pipelines") },
  { area: "bin", dir: join(root, "bin") }
]

describe("package import direction", () => {
  it("every package is listed with its allowed imports", () => {
    for (const { area } of areas()) expect(Object.keys(allowed), `add ${area} to the allowed table`).toContain(area)
  })

  it("no source file imports against the direction", () => {
    const problems = areas().flatMap(({ area, dir }) =>
      listTs(dir).flatMap((f) => violations(area, relative(root, f), readFileSync(f, "utf8")))
    )
    expect(problems).toEqual([])
  })

  it("each package declares the dpipe packages it imports", () => {
    for (const name of readdirSync(join(root, "packages"))) {
      const pkg = JSON.parse(readFileSync(join(root, "packages", name, "package.json"), "utf8")) as {
        dependencies?: Record<string, string>
      }
      const declared = Object.keys(pkg.dependencies ?? {})
      const used = new Set(
        listTs(join(root, "packages", name, "src")).flatMap((f) =>
          importSpecifiers(readFileSync(f, "utf8")).flatMap((s) => {
            const m = /^(@dpipe\/[a-z-]+)/.exec(s)
            return m !== null && m[1] !== `@dpipe/${name}` ? [m[1]!] : []
          })
        )
      )
      for (const dep of used) expect(declared, `packages/${name}/package.json must list ${dep}`).toContain(dep)
    }
  })

  it("the checker catches an import against the direction", () => {
    expect(violations("accounting", "packages/accounting/src/x.ts", `import { Stage } from "@dpipe/dsl"`)).toHaveLength(1)
    expect(violations("engine", "packages/engine/src/x.ts", `const m = await import("@dpipe/stages/demo/index")`)).toHaveLength(1)
    expect(violations("runtime", "packages/runtime/src/x.ts", `export * from "@dpipe/stages/privacy/accountants"`)).toHaveLength(1)
    expect(violations("data", "packages/data/src/x.ts", `import { a } from "../../engine/src/model/gemma.ts"`)).toHaveLength(1)
    expect(violations("stages", "packages/stages/src/x.ts", `import { pldEpsilon } from "@dpipe/accounting/pld"`)).toEqual([])
  })
})
