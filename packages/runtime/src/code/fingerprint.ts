/**
 * Code fingerprints: what a stage key knows of the code that computes the stage
 * (docs/architecture.md, "Stage keys and what is not keyed").
 *
 * A stage's fingerprint is the sha256 of
 * - the bytes of every project module in the import closure of the stage's defining
 *   module: relative imports and workspace packages (`@dpipe/*`, resolved through
 *   their package.json `exports` to files outside node_modules), followed
 *   transitively, worker entry points (`new URL("./worker.ts", import.meta.url)`)
 *   included. Every byte counts: an edit to a comment recomputes too, because a
 *   normaliser that erred once would hide a real change;
 * - `name@version` of every third-party package those modules import, and of every
 *   dependency declared in the package.json of the workspace package each module
 *   belongs to (data packages read by name at run time, such as corpora, are
 *   dependencies, not imports). Third-party code is not hashed: pnpm's lockfile pins
 *   what a version means, and hashing node_modules would cost seconds per run.
 *
 * Files are hashed once per process (the CLI, a test worker and a training worker
 * each hash what they load) and read from disk, not from the loader, so every loader
 * (Node's type stripping, vitest) sees the same fingerprint.
 */
import { Effect, Schema } from "effect"
import { createHash } from "node:crypto"
import { readFile, realpath, stat } from "node:fs/promises"
import { createRequire, isBuiltin } from "node:module"
import { dirname, join, resolve, sep } from "node:path"
import { fileURLToPath } from "node:url"
import type { Plan, Stage } from "@dpipe/dsl"
import { messageOf } from "../errors.ts"
import { importSpecifiers } from "./imports.ts"

export class CodeFingerprintError extends Schema.TaggedError<CodeFingerprintError>()("CodeFingerprintError", {
  stage: Schema.String,
  message: Schema.String
}) {}

export interface CodeFingerprint {
  /** sha256 over the covered files' contents and the packages' versions. */
  readonly hash: string
  /** The project modules covered (absolute paths), sorted. */
  readonly files: ReadonlyArray<string>
  /** The third-party packages covered, as name@version, sorted. */
  readonly packages: ReadonlyArray<string>
}

interface FileFacts {
  readonly hash: string
  readonly local: ReadonlyArray<string>
  readonly packages: ReadonlyArray<string>
}

interface PackageJson {
  readonly name?: string
  readonly version?: string
  readonly dependencies?: Readonly<Record<string, string>>
  readonly exports?: unknown
}

const inNodeModules = (path: string): boolean => path.split(sep).includes("node_modules")

const packageName = (specifier: string): string => {
  const parts = specifier.split("/")
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]!
}

const readPackageJson = async (path: string): Promise<PackageJson | undefined> => {
  try {
    return JSON.parse(await readFile(path, "utf8")) as PackageJson
  } catch {
    return undefined
  }
}

const isFile = async (path: string): Promise<boolean> => {
  try {
    return (await stat(path)).isFile()
  } catch {
    return false
  }
}

/** Memoizes an async function of a string key for the life of the process. */
const memo = <A>(f: (key: string) => Promise<A>): ((key: string) => Promise<A>) => {
  const cache = new Map<string, Promise<A>>()
  return (key) => {
    let p = cache.get(key)
    if (p === undefined) {
      p = f(key)
      cache.set(key, p)
    }
    return p
  }
}

/** The folder of package `name` as node resolution finds it from `fromDir`. */
const findPackageDir = async (name: string, fromDir: string): Promise<string | undefined> => {
  for (let dir = fromDir; ; dir = dirname(dir)) {
    const candidate = join(dir, "node_modules", name)
    if (await isFile(join(candidate, "package.json"))) return candidate
    if (dirname(dir) === dir) return undefined
  }
}

/** `name@version` of the installed package `name` seen from `fromDir`. */
const installedVersion = memo(async (key: string): Promise<string> => {
  const [name = "", fromDir = ""] = key.split("\u0000")
  const dir = await findPackageDir(name, fromDir)
  const pkg = dir !== undefined ? await readPackageJson(join(dir, "package.json")) : undefined
  return `${name}@${pkg?.version ?? "not-installed"}`
})

/** A workspace package's subpath through its `exports` (plain strings and "./*" patterns). */
const resolveExports = (pkgDir: string, pkg: PackageJson, subpath: string): string | undefined => {
  const exports = pkg.exports
  if (typeof exports === "string") return subpath === "." ? join(pkgDir, exports) : undefined
  if (exports === null || typeof exports !== "object") return undefined
  const table = exports as Record<string, unknown>
  const target = (t: unknown): string | undefined =>
    typeof t === "string" ? t : t !== null && typeof t === "object" ? target((t as Record<string, unknown>)["import"] ?? (t as Record<string, unknown>)["default"]) : undefined
  const exact = target(table[subpath])
  if (exact !== undefined) return join(pkgDir, exact)
  for (const [pattern, value] of Object.entries(table)) {
    const star = pattern.indexOf("*")
    const t = target(value)
    if (star < 0 || t === undefined) continue
    const before = pattern.slice(0, star)
    const after = pattern.slice(star + 1)
    if (subpath.startsWith(before) && subpath.endsWith(after) && subpath.length >= before.length + after.length) {
      return join(pkgDir, t.replace("*", subpath.slice(before.length, subpath.length - after.length)))
    }
  }
  return undefined
}

type Resolved = { readonly kind: "local"; readonly path: string } | { readonly kind: "package"; readonly id: string } | undefined

const resolveSpecifier = async (specifier: string, from: string): Promise<Resolved> => {
  if (specifier.startsWith("node:") || isBuiltin(specifier)) return undefined
  if (specifier.startsWith("./") || specifier.startsWith("../") || specifier.startsWith("/") || specifier.startsWith("file:")) {
    const path = specifier.startsWith("file:") ? fileURLToPath(specifier) : resolve(dirname(from), specifier)
    // A specifier that names no file (found in a comment, or a folder) covers nothing.
    return (await isFile(path)) ? { kind: "local", path: await realpath(path) } : undefined
  }
  if (/^[a-z][a-z0-9+.-]*:/i.test(specifier)) return undefined
  const name = packageName(specifier)
  const pkgDir = await findPackageDir(name, dirname(from))
  if (pkgDir === undefined) {
    // Not installed: a name in a comment, or a type-only import of an absent package.
    return { kind: "package", id: `${name}@not-installed` }
  }
  const real = await realpath(pkgDir)
  if (inNodeModules(real)) return { kind: "package", id: await installedVersion(`${name}\u0000${dirname(from)}`) }
  // A workspace package: its modules are project code.
  let target: string | undefined
  try {
    target = createRequire(from).resolve(specifier)
  } catch {
    const pkg = await readPackageJson(join(real, "package.json"))
    const subpath = specifier === name ? "." : `.${specifier.slice(name.length)}`
    target = pkg !== undefined ? resolveExports(real, pkg, subpath) : undefined
  }
  if (target === undefined || !(await isFile(target))) {
    throw new Error(`cannot resolve "${specifier}" (imported by ${from}) to a file of the workspace package at ${real}`)
  }
  return { kind: "local", path: await realpath(target) }
}

/** The nearest package.json above a file, and the versions of its declared dependencies. */
const declaredPackages = memo(async (dir: string): Promise<ReadonlyArray<string>> => {
  for (let d = dir; ; d = dirname(d)) {
    const pkg = await readPackageJson(join(d, "package.json"))
    if (pkg !== undefined) {
      const deps = Object.entries(pkg.dependencies ?? {}).filter(([, spec]) => !spec.startsWith("workspace:"))
      return Promise.all(deps.map(([dep]) => installedVersion(`${dep}\u0000${d}`)))
    }
    if (dirname(d) === d) return []
  }
})

const fileFacts = memo(async (path: string): Promise<FileFacts> => {
  const bytes = await readFile(path)
  const local: Array<string> = []
  const packages = new Set<string>(await declaredPackages(dirname(path)))
  for (const specifier of importSpecifiers(bytes.toString("utf8"))) {
    const r = await resolveSpecifier(specifier, path)
    if (r?.kind === "local") local.push(r.path)
    else if (r?.kind === "package") packages.add(r.id)
  }
  return { hash: createHash("sha256").update(bytes).digest("hex"), local, packages: [...packages] }
})

/** The fingerprint of a module and its project-local import closure (once per process). */
export const fingerprintModule = memo(async (module: string): Promise<CodeFingerprint> => {
  const root = await realpath(module)
  const seen = new Set<string>([root])
  const queue = [root]
  const hashes = new Set<string>()
  const packages = new Set<string>()
  while (queue.length > 0) {
    const file = queue.shift()!
    const facts = await fileFacts(file)
    hashes.add(facts.hash)
    for (const p of facts.packages) packages.add(p)
    for (const dep of facts.local) {
      if (!seen.has(dep)) {
        seen.add(dep)
        queue.push(dep)
      }
    }
  }
  const sortedPackages = [...packages].sort()
  const hash = createHash("sha256")
    .update(JSON.stringify({ v: 1, files: [...hashes].sort(), packages: sortedPackages }))
    .digest("hex")
  return { hash, files: [...seen].sort(), packages: sortedPackages }
})

/** The code fingerprint of a stage, or why it cannot be computed. */
export const stageFingerprint = Effect.fn("stageFingerprint")(function* (stage: Pick<Stage.AnyStage, "name" | "module">) {
  const module = stage.module
  if (module === undefined) {
    return yield* new CodeFingerprintError({
      stage: stage.name,
      message: `Cannot tell which module defines stage ${stage.name} (Stage.make was not called from a file), so its code cannot be part of its key. Pass \`module: import.meta.url\` to Stage.make.`
    })
  }
  return yield* Effect.tryPromise({
    try: () => fingerprintModule(module),
    catch: (e) =>
      new CodeFingerprintError({
        stage: stage.name,
        message: `Cannot fingerprint the code of stage ${stage.name} (module ${module}): ${messageOf(e)}. The module must be a file on disk; pass \`module: import.meta.url\` to Stage.make if it is defined elsewhere.`
      })
  })
})

/** Node id -> code fingerprint, for every node of a plan. */
export const planFingerprints = Effect.fn("planFingerprints")(function* (plan: Plan.Plan) {
  const out: Record<string, string> = {}
  for (const node of plan.nodes) out[node.id] = (yield* stageFingerprint(node.stage)).hash
  return out
})
