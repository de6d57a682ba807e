/**
 * "Did you mean ...?": the nearest valid name to a mistyped one, by edit distance
 * (Levenshtein, case-insensitive, with a transposition of neighbours counting as one
 * edit: the optimal string alignment distance of Damerau 1964), for unknown setting
 * keys, node ids and scales.
 */

/** Edit distance between two strings (insert, delete, substitute, swap neighbours: 1 each). */
export const editDistance = (a: string, b: string): number => {
  const s = a.toLowerCase()
  const t = b.toLowerCase()
  const rows = s.length + 1
  const cols = t.length + 1
  const d: Array<Array<number>> = Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)))
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = s[i - 1] === t[j - 1] ? 0 : 1
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost)
      if (i > 1 && j > 1 && s[i - 1] === t[j - 2] && s[i - 2] === t[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1)
      d[i]![j] = v
    }
  }
  return d[s.length]![t.length]!
}

/**
 * The candidates nearest to `name` (ties kept, in the candidates' order), if close
 * enough to be a likely typo: at most a third of the longer name's length, and at least 2 edits allowed.
 */
export const nearest = (name: string, candidates: ReadonlyArray<string>): ReadonlyArray<string> => {
  let best = Number.POSITIVE_INFINITY
  let found: Array<string> = []
  for (const c of candidates) {
    const dist = editDistance(name, c)
    if (dist > Math.max(2, Math.floor(Math.max(name.length, c.length) / 3))) continue
    if (dist < best) {
      best = dist
      found = [c]
    } else if (dist === best && !found.includes(c)) found.push(c)
  }
  return found
}

/** " Did you mean x?" / " Did you mean x or y?", or "" when nothing is close. */
export const didYouMean = (name: string, candidates: ReadonlyArray<string>): string => {
  const near = nearest(name, candidates).slice(0, 3)
  if (near.length === 0) return ""
  return ` Did you mean ${near.length === 1 ? near[0] : `${near.slice(0, -1).join(", ")} or ${near.at(-1)}`}?`
}

/**
 * The suggestion for an unknown dotted key "node.path": the nearest full key; failing
 * that, the key with the node id corrected (when only the node is mistyped and its path exists there).
 */
export const suggestKey = (key: string, validKeys: ReadonlyArray<string>): string => {
  const direct = didYouMean(key, validKeys)
  if (direct !== "") return direct
  const dot = key.indexOf(".")
  if (dot < 0) return ""
  const node = key.slice(0, dot)
  const rest = key.slice(dot)
  const nodes = [...new Set(validKeys.map((k) => k.slice(0, k.indexOf("."))))]
  const nearNodes = nearest(node, nodes)
  const fixed = nearNodes.map((n) => n + rest).filter((k) => validKeys.includes(k))
  if (fixed.length > 0) return ` Did you mean ${fixed[0]}?`
  // The node is right (or close) but the field is not: the nearest field of that node.
  for (const n of nodes.includes(node) ? [node] : nearNodes) {
    const own = validKeys.filter((k) => k.startsWith(`${n}.`))
    const near = nearest(`${n}${rest}`, own)
    if (near.length > 0) return ` Did you mean ${near.slice(0, 3).join(" or ")}?`
  }
  return ""
}
