/**
 * The module that defines a stage: the file of the first call-stack frame outside the
 * dsl when `Stage.make` runs (the stage's own module, or the module of the factory
 * that builds it). The runtime hashes that file and the project modules it imports
 * into the stage key (docs/architecture.md, "Stage keys and what is not keyed"), so
 * editing a stage's code recomputes it. Pure: this reads a stack trace, not a file.
 */
import { fileURLToPath } from "node:url"

const here = fileURLToPath(import.meta.url)
const dslDir = here.slice(0, here.lastIndexOf("/") + 1)

/** "file:///a/b.ts" or "/a/b.ts" -> "/a/b.ts"; anything else (node:internal, eval) -> undefined. */
const framePath = (location: string): string | undefined => {
  if (location.startsWith("file://")) {
    try {
      return fileURLToPath(location)
    } catch {
      return undefined
    }
  }
  return location.startsWith("/") ? location : undefined
}

/** The file of one stack line ("    at f (file:///a.ts:3:9)" or "    at /a.ts:3:9"). */
const frameFile = (line: string): string | undefined => {
  const m = /\((.+):\d+:\d+\)\s*$/.exec(line) ?? /^\s*at (?:async )?(.+):\d+:\d+\s*$/.exec(line)
  return m?.[1] !== undefined ? framePath(m[1]) : undefined
}

/**
 * The absolute path of the file that called into the dsl, or undefined when no frame
 * names a file (a stage built in an eval or a REPL).
 */
export const definingModule = (): string | undefined => {
  const limit = Error.stackTraceLimit
  Error.stackTraceLimit = Math.max(limit, 30)
  const stack = new Error().stack ?? ""
  Error.stackTraceLimit = limit
  for (const line of stack.split("\n").slice(1)) {
    const file = frameFile(line)
    if (file !== undefined && !file.startsWith(dslDir)) return file
  }
  return undefined
}

/** An explicit `module` option: `import.meta.url` or an absolute path. */
export const modulePath = (module: string): string => framePath(module) ?? module
