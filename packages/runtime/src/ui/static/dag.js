// The run's DAG as SVG: stages in columns by depth (longest chain of inputs), edges
// from each input's producer, each box coloured by its state and showing its time or
// cache hit. A run recorded before edges were kept (no dependsOn) is one column.
import { formatDuration, svg } from "./dom.js"

const BOX_W = 150
const BOX_H = 46
const GAP_X = 56
const GAP_Y = 14

export const drawDag = (record) => {
  const ids = Object.keys(record.nodes)
  const depth = new Map()
  const depthOf = (id, seen = new Set()) => {
    if (depth.has(id)) return depth.get(id)
    if (seen.has(id)) return 0
    seen.add(id)
    const deps = (record.nodes[id]?.dependsOn ?? []).filter((d) => d in record.nodes)
    const d = deps.length === 0 ? 0 : 1 + Math.max(...deps.map((x) => depthOf(x, seen)))
    depth.set(id, d)
    return d
  }
  for (const id of ids) depthOf(id)
  const columns = []
  for (const id of ids) (columns[depth.get(id)] ??= []).push(id)
  const pos = new Map()
  columns.forEach((col, c) => col.forEach((id, r) => pos.set(id, { x: 8 + c * (BOX_W + GAP_X), y: 8 + r * (BOX_H + GAP_Y) })))
  const width = 16 + columns.length * BOX_W + (columns.length - 1) * GAP_X
  const height = 16 + Math.max(...columns.map((c) => c.length)) * (BOX_H + GAP_Y) - GAP_Y
  const root = svg("svg", { class: "dag", "data-dag": "true", viewBox: `0 0 ${width} ${height}`, width, height, role: "img", "aria-label": "stages of the run" })
  const edges = svg("g", { class: "edges" })
  for (const id of ids) {
    const to = pos.get(id)
    for (const dep of record.nodes[id]?.dependsOn ?? []) {
      const from = pos.get(dep)
      if (!from) continue
      const x1 = from.x + BOX_W
      const y1 = from.y + BOX_H / 2
      const x2 = to.x
      const y2 = to.y + BOX_H / 2
      edges.append(svg("path", { d: `M${x1},${y1} C${x1 + GAP_X / 2},${y1} ${x2 - GAP_X / 2},${y2} ${x2},${y2}`, class: "edge", "data-from": dep, "data-to": id }))
    }
  }
  root.append(edges)
  for (const id of ids) {
    const n = record.nodes[id]
    const p = pos.get(id)
    const detail = n.status === "cached" ? "cached" : n.durationMs !== undefined ? `${n.status} · ${formatDuration(n.durationMs)}` : n.status
    const g = svg("g", { class: `stage status-${n.status}`, "data-node": id, "data-status": n.status, transform: `translate(${p.x},${p.y})` })
    g.append(svg("rect", { width: BOX_W, height: BOX_H, rx: 6, class: "stage-box" }))
    g.append(svg("text", { x: 10, y: 19, class: "stage-name" }, id.length > 20 ? `${id.slice(0, 19)}…` : id))
    g.append(svg("text", { x: 10, y: 36, class: "stage-detail" }, detail))
    g.append(svg("title", {}, `${id} (${n.stage}): ${n.status}`))
    root.append(g)
  }
  return root
}
