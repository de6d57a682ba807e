/**
 * `--set path=value` settings: parsing, and applying them to nested config objects.
 * Values are read as JSON when they parse (numbers, booleans, arrays), else as
 * strings, then decoded by the stage's Schema, which has the last word.
 */
import type { Settings } from "./pipeline.ts"

/** Parses `["train.steps=200", "train.backend=wasm"]`; returns an error message on bad input. */
export const parseSettings = (
  pairs: ReadonlyArray<string>
): { readonly settings: Settings } | { readonly error: string } => {
  const settings: Record<string, unknown> = {}
  for (const pair of pairs) {
    const eq = pair.indexOf("=")
    if (eq <= 0) return { error: `--set "${pair}" is not of the form path=value (for example --set train.steps=200)` }
    const key = pair.slice(0, eq).trim()
    const raw = pair.slice(eq + 1)
    if (!/^[a-z][a-z0-9-]*(\.[A-Za-z_][A-Za-z0-9_]*)+$/.test(key)) {
      return { error: `--set "${pair}": "${key}" is not a setting path of the form node.field[.subfield]` }
    }
    settings[key] = parseValue(raw)
  }
  return { settings }
}

const parseValue = (raw: string): unknown => {
  try {
    return JSON.parse(raw)
  } catch {
    return raw
  }
}

/** Sets `value` at `path` in a copy of `obj`, creating objects on the way. */
export const setPath = (obj: Readonly<Record<string, unknown>>, path: ReadonlyArray<string>, value: unknown): Record<string, unknown> => {
  const [head, ...rest] = path
  if (head === undefined) return { ...obj }
  const current = obj[head]
  const next =
    rest.length === 0
      ? value
      : setPath(typeof current === "object" && current !== null && !Array.isArray(current) ? (current as Record<string, unknown>) : {}, rest, value)
  return { ...obj, [head]: next }
}
