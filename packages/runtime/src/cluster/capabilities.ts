/**
 * Capabilities: what a runner offers and what a stage asks for, both as strings.
 *
 * A runner offers `key=value` pairs: by default `cores=<its CPUs>`, `backend=native` and
 * `backend=wasm` (the two compute backends every dpipe install has), plus whatever
 * `--capability` adds (`backend=tensorflow` where TensorFlow is installed, `gpu=a100`).
 * A stage asks through its perf flags: `backend: X` asks for `backend=X`, `workers: n`
 * (n > 1) for `cores>=n`, and a perf flag `requires: [...]` for anything else. A
 * requirement `key=value` is met by the same pair; `key>=n` by a pair `key=m` with m >= n.
 */
import { availableParallelism } from "node:os"

export const defaultCapabilities = (): ReadonlyArray<string> => [`cores=${availableParallelism()}`, "backend=native", "backend=wasm"]

/** A runner's capabilities: the defaults, then the extra ones (a given `key=...` replaces the default `cores`). */
export const runnerCapabilities = (extra: ReadonlyArray<string>): ReadonlyArray<string> => {
  const given = new Set(extra.map((c) => c.split("=")[0]))
  const defaults = defaultCapabilities().filter((c) => !(c.startsWith("cores=") && given.has("cores")))
  return [...new Set([...defaults, ...extra])]
}

/** What a stage's encoded perf flags ask of a runner. */
export const requirementsOf = (perf: unknown): ReadonlyArray<string> => {
  if (perf === null || typeof perf !== "object") return []
  const p = perf as Record<string, unknown>
  const out: Array<string> = []
  if (typeof p["backend"] === "string") out.push(`backend=${p["backend"]}`)
  if (typeof p["workers"] === "number" && p["workers"] > 1) out.push(`cores>=${p["workers"]}`)
  if (Array.isArray(p["requires"])) for (const r of p["requires"]) if (typeof r === "string") out.push(r)
  return out
}

/** The requirements a runner's capabilities do not meet (empty: it can take the stage). */
export const unmet = (requires: ReadonlyArray<string>, capabilities: ReadonlyArray<string>): ReadonlyArray<string> =>
  requires.filter((r) => {
    const ge = /^([^=<>]+)>=(-?\d+(?:\.\d+)?)$/.exec(r)
    if (ge !== null) {
      const [, key, min] = ge
      return !capabilities.some((c) => {
        const [k, v] = c.split("=")
        return k === key && v !== undefined && Number(v) >= Number(min)
      })
    }
    return !capabilities.includes(r)
  })

/** A capability or requirement as written on the command line: `key=value` or `key>=number`. */
export const validCapability = (s: string): boolean => /^[A-Za-z0-9_.-]+(=|>=)[^\s=]+$/.test(s)
