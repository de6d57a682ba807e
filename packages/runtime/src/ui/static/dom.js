// Helpers of the dashboard's pages (plain ES module, no build step). Every value from
// the store enters the page through text nodes or attributes set one by one, never as
// markup: `el` appends strings as text nodes, and nothing here assigns innerHTML.

const SVG_NS = "http://www.w3.org/2000/svg"

/** An HTML element with attributes and children (strings become text nodes). */
export const el = (tag, attrs = {}, ...children) => {
  const e = document.createElement(tag)
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null && v !== false) e.setAttribute(k, String(v))
  for (const c of children.flat()) if (c !== undefined && c !== null) e.append(typeof c === "string" || typeof c === "number" ? document.createTextNode(String(c)) : c)
  return e
}

/** An SVG element with attributes and children. */
export const svg = (tag, attrs = {}, ...children) => {
  const e = document.createElementNS(SVG_NS, tag)
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) e.setAttribute(k, String(v))
  for (const c of children.flat()) if (c !== undefined && c !== null) e.append(typeof c === "string" || typeof c === "number" ? document.createTextNode(String(c)) : c)
  return e
}

/** Replaces an element's children. */
export const fill = (parent, ...children) => {
  parent.replaceChildren()
  for (const c of children.flat()) if (c !== undefined && c !== null) parent.append(typeof c === "string" ? document.createTextNode(c) : c)
  return parent
}

/** GET a JSON endpoint of this server; throws with the server's message on an error status. */
export const getJson = async (path) => {
  const r = await fetch(path, { headers: { accept: "application/json" }, credentials: "same-origin" })
  const body = await r.json()
  if (!r.ok) throw new Error(body && typeof body.message === "string" ? body.message : `HTTP ${r.status}`)
  return body
}

export const formatDuration = (ms) => {
  if (typeof ms !== "number" || !Number.isFinite(ms) || ms < 0) return ""
  if (ms < 1000) return `${Math.round(ms)} ms`
  const s = ms / 1000
  if (s < 60) return `${s.toFixed(1)} s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m} min ${String(Math.round(s % 60)).padStart(2, "0")} s`
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, "0")} min`
}

export const formatTime = (iso) => {
  const d = new Date(iso)
  return Number.isNaN(d.getTime()) ? String(iso) : d.toLocaleString()
}

export const formatNumber = (v) =>
  typeof v !== "number" ? String(v) : Number.isInteger(v) ? String(v) : Math.abs(v) >= 100 ? v.toFixed(1) : v.toPrecision(4)

/** A privacy label as a badge. */
export const labelBadge = (label) => el("span", { class: `badge label-${label === "public" || label === "dp" ? label : "private"}`, "data-label": label }, label)

/** A run or stage status as a chip. */
export const statusChip = (status) => el("span", { class: `status status-${status}`, "data-status": status }, status)

/** The run id in a path /runs/:id[/...]. */
export const pathSegments = () => location.pathname.split("/").filter((s) => s.length > 0).map((s) => decodeURIComponent(s))

/** The first epsilon of a privacy record (the authoritative accountant). */
export const primaryEpsilon = (privacy) => {
  if (!privacy) return undefined
  const entries = Object.entries(privacy.epsilon)
  return entries.length > 0 ? { accountant: entries[0][0], value: entries[0][1] } : undefined
}
