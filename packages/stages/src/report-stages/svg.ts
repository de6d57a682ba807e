/**
 * A small SVG line-chart helper for the run report: linear scales, "nice" ticks,
 * path generation with gaps at non-finite values, and a chart renderer whose marks are
 * easy to find in a browser test (`<svg data-chart="...">`, one
 * `<path class="series" data-series="...">` per series and `<circle class="point">`
 * markers, at least one per series that has a finite point).
 *
 * Everything is pure and returns `Html` from ./html.ts, so labels and series names are
 * escaped. Non-finite values (NaN: e.g. the per-step epsilon when RDP does not apply)
 * never reach the markup: they break the line instead.
 */
import { el, type Html } from "./html.ts"

export interface Point {
  readonly x: number
  readonly y: number
}

export interface Scale {
  (v: number): number
  readonly domain: readonly [number, number]
  readonly range: readonly [number, number]
}

/** [min, max] of the finite values, or undefined when there are none. */
export const finiteExtent = (values: Iterable<number>): readonly [number, number] | undefined => {
  let lo = Infinity
  let hi = -Infinity
  for (const v of values) {
    if (!Number.isFinite(v)) continue
    if (v < lo) lo = v
    if (v > hi) hi = v
  }
  return lo <= hi ? [lo, hi] : undefined
}

/** Maps `domain` linearly onto `range`; a degenerate domain maps to the middle of the range. */
export const linearScale = (domain: readonly [number, number], range: readonly [number, number]): Scale => {
  const [d0, d1] = domain
  const [r0, r1] = range
  const span = d1 - d0
  const f = (v: number): number => (span === 0 || !Number.isFinite(span) ? (r0 + r1) / 2 : r0 + ((v - d0) / span) * (r1 - r0))
  return Object.assign(f, { domain, range })
}

/** The tick step for about `count` ticks over [lo, hi]: 1, 2 or 5 times a power of ten. */
export const tickStep = (lo: number, hi: number, count: number): number => {
  const raw = Math.abs(hi - lo) / Math.max(1, count)
  if (!(raw > 0) || !Number.isFinite(raw)) return 0
  const power = Math.pow(10, Math.floor(Math.log10(raw)))
  const err = raw / power
  return (err >= 7.5 ? 10 : err >= 3.5 ? 5 : err >= 1.5 ? 2 : 1) * power
}

/** [lo, hi] widened to multiples of the tick step; a single value becomes a unit interval around it. */
export const niceDomain = (lo: number, hi: number, count = 5): readonly [number, number] => {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [0, 1]
  if (lo === hi) {
    const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1
    return niceDomain(lo - pad, hi + pad, count)
  }
  if (lo > hi) return niceDomain(hi, lo, count)
  const step = tickStep(lo, hi, count)
  return [Math.floor(lo / step) * step, Math.ceil(hi / step) * step]
}

/** Ticks at multiples of the step within [lo, hi] (inclusive), without float noise. */
export const niceTicks = (lo: number, hi: number, count = 5): ReadonlyArray<number> => {
  const step = tickStep(lo, hi, count)
  if (step === 0) return Number.isFinite(lo) ? [lo] : []
  const digits = Math.max(0, -Math.floor(Math.log10(step)) + 1)
  const out: Array<number> = []
  for (let k = Math.ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9; k++) out.push(Number((k * step).toFixed(Math.min(20, digits))))
  return out
}

const round = (v: number): string => {
  const r = Math.round(v * 100) / 100
  return Object.is(r, -0) ? "0" : String(r)
}

/**
 * The `d` attribute of a polyline through the points; a non-finite x or y ends the
 * current segment and the next finite point starts a new one ("M"). Empty string when
 * no point is finite.
 */
export const linePath = (points: ReadonlyArray<Point>, sx: (v: number) => number, sy: (v: number) => number): string => {
  const parts: Array<string> = []
  let pen = false
  for (const p of points) {
    if (!Number.isFinite(p.x) || !Number.isFinite(p.y)) {
      pen = false
      continue
    }
    parts.push(`${pen ? "L" : "M"}${round(sx(p.x))},${round(sy(p.y))}`)
    pen = true
  }
  return parts.join(" ")
}

/** At most `max` points, evenly spaced, always keeping the first and the last. */
export const downsample = <P>(points: ReadonlyArray<P>, max: number): ReadonlyArray<P> => {
  if (points.length <= max) return points
  if (max <= 1) return points.slice(-1)
  const out: Array<P> = []
  let last = -1
  for (let k = 0; k < max; k++) {
    const i = Math.round((k * (points.length - 1)) / (max - 1))
    if (i !== last) out.push(points[i]!)
    last = i
  }
  return out
}

/** Compact tick label: integers as is, otherwise up to 4 significant digits. */
export const formatTick = (v: number): string => {
  if (!Number.isFinite(v)) return String(v)
  if (Number.isInteger(v) && Math.abs(v) < 1e6) return String(v)
  const a = Math.abs(v)
  if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(2)
  return String(Number(v.toPrecision(4)))
}

export interface Series {
  readonly name: string
  readonly points: ReadonlyArray<Point>
  /** Draw markers only (no line): for single values such as a final epsilon. */
  readonly markersOnly?: boolean
  readonly dashed?: boolean
}

export interface LineChartSpec {
  /** Identifies the chart: `<svg data-chart="{id}">`. */
  readonly id: string
  readonly title: string
  readonly xLabel: string
  readonly yLabel: string
  readonly series: ReadonlyArray<Series>
  readonly width?: number
  readonly height?: number
  /** Fix the y domain's ends (e.g. 0 for a fraction); otherwise from the data. */
  readonly yMin?: number
  readonly yMax?: number
  /** Markers per series (evenly spaced; the last point always has one). */
  readonly maxMarkers?: number
}

export const PALETTE: ReadonlyArray<string> = ["#1f6feb", "#d9480f", "#2b8a3e", "#862e9c", "#5c5f66"]

/** Renders a line chart as inline SVG (no script, no external resource). */
export const lineChart = (spec: LineChartSpec): Html => {
  const width = spec.width ?? 640
  const height = spec.height ?? 300
  const m = { top: 28, right: 16, bottom: 44, left: 64 }
  const xs = finiteExtent(spec.series.flatMap((s) => s.points.filter((p) => Number.isFinite(p.y)).map((p) => p.x)))
  const ys = finiteExtent(spec.series.flatMap((s) => s.points.filter((p) => Number.isFinite(p.x)).map((p) => p.y)))
  const common = {
    xmlns: "http://www.w3.org/2000/svg",
    viewBox: `0 0 ${width} ${height}`,
    width,
    height,
    role: "img",
    "aria-label": spec.title,
    "data-chart": spec.id
  }
  const title = el("text", { x: m.left, y: 18, class: "chart-title", "font-size": 14, "font-weight": "bold" }, spec.title)
  if (xs === undefined || ys === undefined) {
    return el("svg", { ...common, "data-empty": "true" }, title, el("text", { x: width / 2, y: height / 2, "text-anchor": "middle", class: "no-data" }, "no data"))
  }
  const [x0, x1] = niceDomain(xs[0], xs[1])
  const y0n = spec.yMin ?? Math.min(ys[0], spec.yMax ?? ys[0])
  const y1n = spec.yMax ?? Math.max(ys[1], spec.yMin ?? ys[1])
  const [y0, y1] = niceDomain(y0n, y1n)
  const sx = linearScale([x0, x1], [m.left, width - m.right])
  const sy = linearScale([y0, y1], [height - m.bottom, m.top])
  const axisColor = "#888"
  const xTicks = niceTicks(x0, x1, 6)
  const yTicks = niceTicks(y0, y1, 5)
  const grid = [
    ...yTicks.map((t) =>
      el(
        "g",
        { class: "tick y" },
        el("line", { x1: m.left, x2: width - m.right, y1: round(sy(t)), y2: round(sy(t)), stroke: "#e5e5e5" }),
        el("text", { x: m.left - 6, y: round(sy(t) + 4), "text-anchor": "end", "font-size": 11 }, formatTick(t))
      )
    ),
    ...xTicks.map((t) =>
      el(
        "g",
        { class: "tick x" },
        el("line", { x1: round(sx(t)), x2: round(sx(t)), y1: height - m.bottom, y2: height - m.bottom + 4, stroke: axisColor }),
        el("text", { x: round(sx(t)), y: height - m.bottom + 16, "text-anchor": "middle", "font-size": 11 }, formatTick(t))
      )
    )
  ]
  const axes = [
    el("line", { x1: m.left, x2: width - m.right, y1: height - m.bottom, y2: height - m.bottom, stroke: axisColor }),
    el("line", { x1: m.left, x2: m.left, y1: m.top, y2: height - m.bottom, stroke: axisColor }),
    el("text", { x: (m.left + width - m.right) / 2, y: height - 8, "text-anchor": "middle", "font-size": 12 }, spec.xLabel),
    el("text", { x: 14, y: (m.top + height - m.bottom) / 2, "text-anchor": "middle", "font-size": 12, transform: `rotate(-90 14 ${(m.top + height - m.bottom) / 2})` }, spec.yLabel)
  ]
  const maxMarkers = spec.maxMarkers ?? 40
  const marks = spec.series.map((s, i) => {
    const color = PALETTE[i % PALETTE.length]!
    const finite = s.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y))
    const markers = downsample(finite, Math.max(1, maxMarkers))
    return el(
      "g",
      { class: "series-group", "data-series": s.name },
      s.markersOnly === true
        ? null
        : el("path", {
            class: "series",
            "data-series": s.name,
            d: linePath(s.points, sx, sy),
            fill: "none",
            stroke: color,
            "stroke-width": 1.75,
            "stroke-dasharray": s.dashed === true ? "5 3" : undefined
          }),
      markers.map((p) =>
        el(
          "circle",
          { class: "point", "data-series": s.name, cx: round(sx(p.x)), cy: round(sy(p.y)), r: s.markersOnly === true ? 4 : 2.25, fill: color },
          el("title", {}, `${s.name}: ${formatTick(p.x)}, ${formatTick(p.y)}`)
        )
      )
    )
  })
  const legend = spec.series.map((s, i) =>
    el(
      "g",
      { class: "legend", transform: `translate(${width - m.right - 170}, ${m.top + 4 + i * 16})` },
      el("rect", { width: 10, height: 10, fill: PALETTE[i % PALETTE.length]! }),
      el("text", { x: 14, y: 9, "font-size": 11 }, s.name)
    )
  )
  return el("svg", common, title, grid, axes, marks, legend)
}
