import { describe, expect, it } from "vitest"
import { Schema } from "effect"
import { formatEpsilon, renderReport, ReportSummary, type ReportInput } from "@dpipe/stages/report-stages/index"
import { evaluation, fixedStatement, HOSTILE, memorization, metricsRows } from "./fixtures.ts"

const statement = fixedStatement()

const input = (over: Partial<ReportInput> = {}): ReportInput => ({
  title: HOSTILE.title,
  statement,
  dpMetrics: metricsRows(12),
  baselineMetrics: metricsRows(12, { start: 5.5, end: 2.4, noEpsilon: true }),
  evaluation,
  memorization,
  ...over
})

/** Every `<tag` opened in the document. */
const tags = (html: string) => new Set([...html.matchAll(/<([a-zA-Z][a-zA-Z0-9-]*)/g)].map((m) => m[1]!.toLowerCase()))

/** Every attribute name of every real tag (text is escaped, so `<` only opens tags). */
const attributeNames = (html: string) => {
  const names = new Set<string>()
  for (const tag of html.matchAll(/<[a-zA-Z][a-zA-Z0-9-]*((?:\s+[^\s=>]+(?:="[^"]*")?)*)\s*\/?>/g)) {
    for (const a of tag[1]!.matchAll(/\s+([^\s=>]+)(?:="[^"]*")?/g)) names.add(a[1]!.toLowerCase())
  }
  return names
}

describe("report rendering", () => {
  it("escapes every data-derived string: no markup can be injected", () => {
    const { html } = renderReport(input())
    const opened = tags(html)
    expect(opened.has("script")).toBe(false)
    expect(opened.has("img")).toBe(false)
    const attrs = attributeNames(html)
    expect([...attrs].filter((a) => a.startsWith("on"))).toEqual([])
    expect(attrs.has("src")).toBe(false)
    expect(html).not.toContain(HOSTILE.secret)
    expect(html).not.toContain(HOSTILE.id)
    expect(html).not.toContain(HOSTILE.set)
    expect(html).toContain("DP-SGD model &lt;script&gt;window.__pwned = 1&lt;/script&gt;&quot;&#39;&amp;")
    expect(html).toContain("greedy &quot;&gt;&lt;img src=x onerror=&quot;window.__pwned=2&quot;&gt;")
    expect(html).toContain("note &lt;/table&gt;&lt;svg onload=&quot;window.__pwned=3&quot;&gt;")
    expect(html).toContain("<title>run &lt;b&gt;bold&lt;/b&gt; &amp; &quot;quoted&quot;</title>")
    // Only the elements the renderer writes appear.
    const allowed = new Set(["html", "head", "meta", "title", "style", "body", "h1", "h2", "h3", "p", "span", "strong", "table", "thead", "tbody", "tr", "th", "td", "figure", "figcaption", "svg", "g", "line", "text", "path", "circle", "rect", "code"])
    for (const t of opened) expect(allowed.has(t), `unexpected <${t}>`).toBe(true)
  })

  it("is self-contained: no script, no external resource, and a CSP that forbids them", () => {
    const { html } = renderReport(input())
    // (quotes in attribute values are written as &#39;, which the browser decodes)
    expect(html).toContain(`http-equiv="Content-Security-Policy" content="default-src &#39;none&#39;; style-src &#39;unsafe-inline&#39;; img-src data:"`)
    const attrs = attributeNames(html)
    for (const a of ["src", "href", "xlink:href", "srcset", "action"]) expect(attrs.has(a), a).toBe(false)
    expect([...tags(html)].filter((t) => ["script", "link", "iframe", "object", "embed", "img", "image", "use", "foreignobject"].includes(t))).toEqual([])
    expect(html).not.toMatch(/https?:\/\/(?!www\.w3\.org\/2000\/svg)/)
  })

  it("labels every chart and table with its artifact's privacy label", () => {
    const { html } = renderReport(input())
    const blocks = [...html.matchAll(/<figure class="block (chart|table)" id="[^"]*" data-block="([^"]*)" data-label="([^"]*)"><figcaption>.*?<span class="badge badge-([a-z]+)" data-label="([a-z]+)"/g)]
    expect(blocks.map((m) => [m[2], m[3]])).toEqual([
      ["privacy-statement", "dp"],
      ["loss", "private"],
      ["epsilon", "private"],
      ["clipped", "private"],
      ["stability", "private"],
      ["evaluation", "private"],
      ["memorization", "private"]
    ])
    for (const m of blocks) expect(m[4]).toBe(m[3])
  })

  it("shows the statement's epsilon and draws the three charts", () => {
    const { html } = renderReport(input())
    expect(html).toContain(`data-epsilon="${statement.epsilon}" class="epsilon-value">${formatEpsilon(statement.epsilon)}</span>`)
    for (const id of ["loss", "epsilon", "clipped"]) expect(html).toMatch(new RegExp(`<svg [^>]*data-chart="${id}"`))
    expect(html).not.toContain('data-empty="true"')
    expect(html).not.toMatch(/NaN/)
  })

  it("notes when there is no per-step epsilon (truncated Poisson) but still plots the final PLD point", () => {
    const { html } = renderReport(input({ dpMetrics: metricsRows(12, { noEpsilon: true }) }))
    expect(html).toContain("No per-step RDP epsilon")
    const eps = html.match(/<svg [^>]*data-chart="epsilon".*?<\/svg>/s)![0]
    expect(eps).toContain('<circle class="point" data-series="PLD (final)"')
  })

  it("summarizes epsilon, eval losses, exposure and extraction as finite numbers or null", () => {
    const nanUnigram = { ...evaluation, models: { ...evaluation.models, unigram: { ...evaluation.models.unigram, meanLoss: Number.NaN } } }
    const { summary } = renderReport(input({ evaluation: nanUnigram }))
    expect(summary.epsilon).toBe(statement.epsilon)
    expect(summary.epsilonRdp).toBe(statement.rdp._tag === "Computed" ? statement.rdp.epsilon : null)
    expect(summary.evalLoss).toEqual({ dp: 4.1, nonPrivate: 3.4, unigram: null })
    expect(summary.bitsPerByte).toEqual({ dp: 2.05, nonPrivate: 1.7, unigram: 2.65 })
    expect(summary.exposure.dp).toBeCloseTo((0.8 + 1.2 + 1.9) / 3, 12)
    expect(summary.exposure.nonPrivate).toBeCloseTo((2.1 + 5.9 + 6.6) / 3, 12)
    expect(summary.exposure.maxMeasurable).toBeCloseTo(Math.log2(101), 12)
    expect(summary.exposure.mostRepeated).toEqual({ repeats: 16, dp: 1.9, nonPrivate: 6.6 })
    expect(summary.extractionExact).toEqual({ sampled: { dp: 0, nonPrivate: 2 / 64 }, duplicated: { dp: 1 / 20, nonPrivate: 9 / 20 } })
    expect(summary.finalTrainLoss.dp).toBeCloseTo(3.2, 12)
    expect(() => Schema.encodeUnknownSync(ReportSummary)(summary)).not.toThrow()
  })

  it("merges the exposure groups of both models by repeat count in the table", () => {
    const { html } = renderReport(input())
    const rows = [...html.matchAll(/<table data-table="exposure">.*?<\/table>/gs)][0]![0]
    const firstCells = [...rows.matchAll(/<tr><th scope="row">([^<]*)<\/th><td>[^<]*<\/td><td>([^<]*)<\/td><td>([^<]*)<\/td>/g)].map((m) => [m[1], m[2], m[3]])
    expect(firstCells).toEqual([
      ["1", "0.8", "2.1"],
      ["4", "1.2", "5.9"],
      ["16", "1.9", "6.6"]
    ])
    expect(html).toContain("0% (0/64)")
    expect(html).toContain("45% (9/20)")
  })

  it("copes with empty inputs (no canaries, no extraction attempts, one step)", () => {
    const none = { attempts: 0, exact: 0, approximate: 0, exactRate: Number.NaN, approximateRate: Number.NaN }
    const empty = {
      ...memorization,
      canaries: { ...memorization.canaries, count: 0, models: { dp: { meanExposure: Number.NaN, byRepeats: [] }, nonPrivate: { meanExposure: Number.NaN, byRepeats: [] } } },
      extraction: {
        ...memorization.extraction,
        sampled: { sequences: 0, models: { dp: none, nonPrivate: none } },
        duplicated: { sequences: 0, canarySequences: 0, repeatedSequences: 0, models: { dp: none, nonPrivate: none } },
        canarySecrets: { attempts: 0, method: "", models: { dp: none, nonPrivate: none } }
      }
    }
    const { html, summary } = renderReport(input({ memorization: empty, dpMetrics: metricsRows(1), baselineMetrics: [] }))
    expect(summary.exposure).toEqual({ dp: null, nonPrivate: null, maxMeasurable: Math.log2(101), mostRepeated: null })
    expect(summary.extractionExact).toEqual({ sampled: { dp: null, nonPrivate: null }, duplicated: { dp: null, nonPrivate: null } })
    expect(summary.finalTrainLoss.nonPrivate).toBeNull()
    expect(html).toMatch(/<svg [^>]*data-chart="loss"/)
    expect(html).not.toMatch(/NaN/)
    expect(() => Schema.encodeUnknownSync(ReportSummary)(summary)).not.toThrow()
  })

  it("downsamples long runs", () => {
    const { html } = renderReport(input({ dpMetrics: metricsRows(5000), baselineMetrics: metricsRows(5000), maxChartPoints: 100 }))
    const loss = html.match(/<path class="series" data-series="DP-SGD" d="([^"]*)"/)![1]!
    expect(loss.split(" ").length).toBe(100)
  })
})
