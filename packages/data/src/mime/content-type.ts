/**
 * Structured MIME header values (RFC 2045 §5.1): `type/subtype; name=value; ...`,
 * used for Content-Type and Content-Disposition. Values may be quoted.
 */

/** A parsed structured header value: the lower-cased main value and its parameters (names lower-cased). */
export interface StructuredValue {
  readonly value: string
  readonly params: ReadonlyMap<string, string>
}

/** Parses `value; a=b; c="d; e"`. */
export const parseStructured = (raw: string): StructuredValue => {
  const parts: Array<string> = []
  let cur = ""
  let quoted = false
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i] as string
    if (c === "\"") quoted = !quoted
    if (c === "\\" && quoted && i + 1 < raw.length) {
      cur += raw[++i] as string
      continue
    }
    if (c === ";" && !quoted) {
      parts.push(cur)
      cur = ""
    } else cur += c
  }
  parts.push(cur)
  const params = new Map<string, string>()
  for (const p of parts.slice(1)) {
    const eq = p.indexOf("=")
    if (eq <= 0) continue
    const name = p.slice(0, eq).trim().toLowerCase()
    let v = p.slice(eq + 1).trim()
    if (v.startsWith("\"") && v.endsWith("\"") && v.length >= 2) v = v.slice(1, -1)
    if (!params.has(name)) params.set(name, v)
  }
  return { value: (parts[0] ?? "").trim().toLowerCase(), params }
}
