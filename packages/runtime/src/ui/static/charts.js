// Line charts as inline SVG, drawn from the live progress events: one path and one
// circle per point for each series, an optional horizontal reference line (the
// privacy budget). `data-chart`, `data-series` and `data-points` name what is drawn.
import { svg } from "./dom.js"

const W = 520
const H = 240
const M = { left: 56, right: 16, top: 42, bottom: 40 }
const COLORS = ["#1f6feb", "#d1242f", "#1a7f37", "#9a6700", "#8250df", "#57606a"]

const niceTicks = (lo, hi, n) => {
  if (!(hi > lo)) return [lo]
  const step0 = (hi - lo) / n
  const mag = 10 ** Math.floor(Math.log10(step0))
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= step0) ?? step0
  const out = []
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)))
  return out
}

const tickText = (v) => (Math.abs(v) >= 1000 ? v.toFixed(0) : Math.abs(v) >= 10 ? String(Number(v.toFixed(1))) : String(Number(v.toPrecision(3))))

/**
 * series: [{ name, points: [{ x, y }], colorIndex? }] (colorIndex keeps a series' colour
 * across charts); reference: { y, label } or undefined.
 * Returns an <svg> element.
 */
export const lineChart = ({ id, title, xLabel, yLabel, series, reference, emptyText = "no points yet" }) => {
  const finite = series.flatMap((s) => s.points).filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y))
  const total = finite.length
  const root = svg("svg", { class: "chart", "data-chart": id, "data-empty": total === 0 ? "true" : "false", "data-points": total, viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": title })
  root.append(svg("text", { x: M.left, y: 18, class: "chart-title" }, title))
  if (total === 0) {
    root.append(svg("text", { x: W / 2, y: H / 2, class: "chart-empty", "text-anchor": "middle" }, emptyText))
    return root
  }
  let xlo = Math.min(...finite.map((p) => p.x))
  let xhi = Math.max(...finite.map((p) => p.x))
  let ylo = Math.min(...finite.map((p) => p.y))
  let yhi = Math.max(...finite.map((p) => p.y))
  if (reference && Number.isFinite(reference.y)) {
    ylo = Math.min(ylo, reference.y)
    yhi = Math.max(yhi, reference.y)
  }
  if (xhi === xlo) xhi = xlo + 1
  if (yhi === ylo) {
    yhi += Math.abs(yhi) * 0.05 + 0.5
    ylo -= Math.abs(ylo) * 0.05 + 0.5
  }
  const pad = (yhi - ylo) * 0.05
  ylo -= pad
  yhi += pad
  const sx = (x) => M.left + ((x - xlo) / (xhi - xlo)) * (W - M.left - M.right)
  const sy = (y) => H - M.bottom - ((y - ylo) / (yhi - ylo)) * (H - M.top - M.bottom)
  const axes = svg("g", { class: "axes" })
  axes.append(svg("line", { x1: M.left, y1: H - M.bottom, x2: W - M.right, y2: H - M.bottom, class: "axis" }))
  axes.append(svg("line", { x1: M.left, y1: M.top, x2: M.left, y2: H - M.bottom, class: "axis" }))
  for (const t of niceTicks(ylo, yhi, 4)) {
    axes.append(svg("line", { x1: M.left, y1: sy(t), x2: W - M.right, y2: sy(t), class: "grid" }))
    axes.append(svg("text", { x: M.left - 6, y: sy(t) + 4, "text-anchor": "end", class: "tick" }, tickText(t)))
  }
  for (const t of niceTicks(xlo, xhi, 6)) axes.append(svg("text", { x: sx(t), y: H - M.bottom + 16, "text-anchor": "middle", class: "tick" }, tickText(t)))
  axes.append(svg("text", { x: (M.left + W - M.right) / 2, y: H - 6, "text-anchor": "middle", class: "axis-label" }, xLabel))
  axes.append(svg("text", { x: 12, y: (M.top + H - M.bottom) / 2, "text-anchor": "middle", class: "axis-label", transform: `rotate(-90 12 ${(M.top + H - M.bottom) / 2})` }, yLabel))
  root.append(axes)
  if (reference && Number.isFinite(reference.y)) {
    const ref = svg("g", { class: "reference", "data-reference": reference.label })
    ref.append(svg("line", { x1: M.left, y1: sy(reference.y), x2: W - M.right, y2: sy(reference.y), class: "reference-line" }))
    ref.append(svg("text", { x: W - M.right - 4, y: sy(reference.y) - 4, "text-anchor": "end", class: "reference-label" }, reference.label))
    root.append(ref)
  }
  const legend = svg("g", { class: "legend" })
  series.forEach((s, i) => {
    const color = COLORS[(s.colorIndex ?? i) % COLORS.length]
    const pts = s.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y)).sort((a, b) => a.x - b.x)
    const g = svg("g", { class: "series-group", "data-series": s.name, "data-points": pts.length })
    if (pts.length > 0) {
      const d = pts.map((p, j) => `${j === 0 ? "M" : "L"}${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`).join(" ")
      g.append(svg("path", { d, class: "series", "data-series": s.name, stroke: color, fill: "none" }))
      for (const p of pts) g.append(svg("circle", { cx: sx(p.x).toFixed(1), cy: sy(p.y).toFixed(1), r: 2.2, class: "point", "data-series": s.name, fill: color }))
    }
    root.append(g)
    const lx = M.left + i * 130
    legend.append(svg("rect", { x: lx, y: 24, width: 10, height: 10, fill: color }))
    legend.append(svg("text", { x: lx + 14, y: 33, class: "legend-text" }, s.name))
  })
  root.append(legend)
  return root
}
