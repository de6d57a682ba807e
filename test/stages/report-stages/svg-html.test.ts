import { describe, expect, it } from "vitest"
import { el, escapeHtml, fragment, raw, text } from "@dpipe/stages/report-stages/html"
import { downsample, finiteExtent, formatTick, linearScale, lineChart, linePath, niceDomain, niceTicks, tickStep } from "@dpipe/stages/report-stages/svg"

describe("html", () => {
  it("escapes the five special characters and replaces control characters and lone surrogates", () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe("&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;")
    expect(escapeHtml("a\u0000b\u0007c\td\ne")).toBe("a\uFFFDb\uFFFDc\td\ne")
    expect(escapeHtml("x\uD800y")).toBe("x\uFFFDy")
    expect(escapeHtml("ok \uD83D\uDE00")).toBe("ok \uD83D\uDE00")
    expect(escapeHtml("&amp;")).toBe("&amp;amp;")
  })

  it("escapes string children and attribute values; markup children pass through", () => {
    const h = el("p", { title: `"><script>x</script>`, "data-n": 3, hidden: true, skipped: false }, "<b>", el("i", {}, "ok"), 4)
    expect(h.html).toBe(`<p title="&quot;&gt;&lt;script&gt;x&lt;/script&gt;" data-n="3" hidden>&lt;b&gt;<i>ok</i>4</p>`)
    expect(text("<x>").html).toBe("&lt;x&gt;")
    expect(fragment("a<", raw("<br>"), ["b", null, false, undefined, ["&"]]).html).toBe("a&lt;<br>b&amp;")
    expect(el("meta", { charset: "utf-8" }).html).toBe(`<meta charset="utf-8">`)
  })

  it("refuses event handlers, script URLs and odd tag or attribute names", () => {
    expect(() => el("img", { onerror: "x" })).toThrow(/refusing attribute/)
    expect(() => el("a", { href: " javascript:alert(1)" })).toThrow(/refusing href/)
    expect(() => el("script x", {})).toThrow(/invalid tag/)
    expect(() => el("p", { 'a"b': "x" })).toThrow(/refusing attribute/)
  })
})

describe("svg helper", () => {
  it("finds the finite extent", () => {
    expect(finiteExtent([3, Number.NaN, -1, Infinity, 2])).toEqual([-1, 3])
    expect(finiteExtent([Number.NaN])).toBeUndefined()
    expect(finiteExtent([])).toBeUndefined()
  })

  it("maps linearly, with inverted ranges and degenerate domains", () => {
    const s = linearScale([0, 10], [100, 300])
    expect(s(0)).toBe(100)
    expect(s(5)).toBe(200)
    expect(s(10)).toBe(300)
    const y = linearScale([0, 1], [250, 50])
    expect(y(0)).toBe(250)
    expect(y(1)).toBe(50)
    expect(linearScale([2, 2], [0, 100])(2)).toBe(50)
    expect(s.domain).toEqual([0, 10])
  })

  it("chooses 1-2-5 tick steps and nice domains", () => {
    expect(tickStep(0, 10, 5)).toBe(2)
    expect(tickStep(0, 1, 5)).toBe(0.2)
    expect(tickStep(0, 1000, 6)).toBe(200)
    expect(tickStep(3, 3, 5)).toBe(0)
    expect(niceTicks(0, 1, 5)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1])
    expect(niceTicks(0.13, 0.97, 5)).toEqual([0.2, 0.4, 0.6, 0.8])
    expect(niceTicks(-3, 3, 6)).toEqual([-3, -2, -1, 0, 1, 2, 3])
    expect(niceTicks(5, 5, 5)).toEqual([5])
    expect(niceDomain(0.13, 0.97)).toEqual([0, 1])
    expect(niceDomain(3.2, 5.5)).toEqual([3, 5.5])
    expect(niceDomain(3.2, 8.9)).toEqual([3, 9])
    const [a, b] = niceDomain(2, 2)
    expect(a).toBeLessThan(2)
    expect(b).toBeGreaterThan(2)
    expect(niceDomain(0, 0)).toEqual([-1, 1])
    expect(niceDomain(Number.NaN, 1)).toEqual([0, 1])
    expect(niceDomain(5, 1)).toEqual(niceDomain(1, 5))
  })

  it("generates paths that break at non-finite values", () => {
    const id = (v: number) => v
    expect(linePath([{ x: 0, y: 0 }, { x: 1, y: 2 }, { x: 2, y: 1.006 }], id, id)).toBe("M0,0 L1,2 L2,1.01")
    expect(linePath([{ x: 0, y: 1 }, { x: 1, y: Number.NaN }, { x: 2, y: 3 }, { x: 3, y: 4 }], id, id)).toBe("M0,1 M2,3 L3,4")
    expect(linePath([{ x: 0, y: Number.NaN }], id, id)).toBe("")
    expect(linePath([], id, id)).toBe("")
    expect(linePath([{ x: Infinity, y: 1 }, { x: 1, y: 1 }], id, id)).toBe("M1,1")
  })

  it("downsamples evenly, keeping the ends", () => {
    const xs = Array.from({ length: 101 }, (_, i) => i)
    const d = downsample(xs, 11)
    expect(d).toEqual([0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100])
    expect(downsample(xs, 1000)).toBe(xs)
    expect(downsample(xs, 1)).toEqual([100])
    expect(downsample([1, 2, 3], 2)).toEqual([1, 3])
  })

  it("formats ticks compactly", () => {
    expect(formatTick(3)).toBe("3")
    expect(formatTick(0.30000000000000004)).toBe("0.3")
    expect(formatTick(1e-6)).toBe("1.00e-6")
    expect(formatTick(2.5e7)).toBe("2.50e+7")
  })

  it("draws a chart with one path and markers per series, escaping names", () => {
    const svg = lineChart({
      id: "loss",
      title: "loss <t>",
      xLabel: "step",
      yLabel: "loss",
      series: [
        { name: "a<b>", points: Array.from({ length: 100 }, (_, i) => ({ x: i + 1, y: 5 - i / 50 })) },
        { name: "b", points: [{ x: 1, y: Number.NaN }, { x: 2, y: 3 }] },
        { name: "final", points: [{ x: 100, y: 3.3 }], markersOnly: true }
      ],
      maxMarkers: 10
    }).html
    expect(svg).toMatch(/^<svg [^>]*data-chart="loss"/)
    expect(svg).not.toContain("a<b>")
    expect(svg).toContain('data-series="a&lt;b&gt;"')
    const paths = [...svg.matchAll(/<path class="series" data-series="([^"]*)" d="([^"]*)"/g)]
    expect(paths.map((m) => m[1])).toEqual(["a&lt;b&gt;", "b"])
    for (const m of paths) expect(m[2]!.startsWith("M")).toBe(true)
    const points = (name: string) => [...svg.matchAll(new RegExp(`<circle class="point" data-series="${name}"`, "g"))].length
    expect(points("a&lt;b&gt;")).toBe(10)
    expect(points("b")).toBe(1)
    expect(points("final")).toBe(1)
    expect(svg).not.toMatch(/NaN|Infinity/)
  })

  it("draws an explicit empty chart when no value is finite", () => {
    const svg = lineChart({ id: "epsilon", title: "eps", xLabel: "x", yLabel: "y", series: [{ name: "s", points: [{ x: 1, y: Number.NaN }] }] }).html
    expect(svg).toContain('data-empty="true"')
    expect(svg).toContain("no data")
    expect(svg).not.toContain("<path")
  })

  it("honours fixed y ends (fractions in [0, 1])", () => {
    const svg = lineChart({ id: "c", title: "c", xLabel: "x", yLabel: "y", yMin: 0, yMax: 1, series: [{ name: "s", points: [{ x: 1, y: 0.5 }, { x: 2, y: 0.6 }] }] }).html
    const yTicks = [...svg.matchAll(/<g class="tick y">.*?<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1])
    expect(yTicks[0]).toBe("0")
    expect(yTicks.at(-1)).toBe("1")
  })
})
