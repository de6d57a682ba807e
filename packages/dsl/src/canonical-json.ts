/**
 * Canonical JSON (sorted object keys, no whitespace, no undefined), so that equal
 * configs hash equally whatever order their keys were written in. Close to RFC 8785
 * (JCS) for the values configs hold: finite numbers, strings, booleans, null, arrays
 * and plain objects. Non-finite numbers and other values are refused, not coerced.
 */
export const canonicalJson = (value: unknown): string => {
  if (value === null) return "null"
  switch (typeof value) {
    case "number":
      if (!Number.isFinite(value)) throw new TypeError(`canonicalJson: non-finite number ${value}`)
      return JSON.stringify(value)
    case "string":
    case "boolean":
      return JSON.stringify(value)
    case "object": {
      if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`
      const proto = Object.getPrototypeOf(value)
      if (proto !== Object.prototype && proto !== null) {
        throw new TypeError(`canonicalJson: unsupported object ${String(proto?.constructor?.name)}`)
      }
      const entries = Object.entries(value as Record<string, unknown>)
        .filter(([, v]) => v !== undefined)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`
    }
    default:
      throw new TypeError(`canonicalJson: unsupported ${typeof value}`)
  }
}
