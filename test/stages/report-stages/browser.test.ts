/**
 * Opens a generated report.html in headless Chromium (Debian's /usr/bin/chromium, driven
 * through playwright-core) and checks what a reader sees: no console errors, every chart
 * has drawn marks (non-empty series paths with a real extent, at least one point per
 * series), every block shows its privacy label, the privacy statement shows the run's
 * epsilon (the number in statement.json), and hostile strings stay text.
 *
 * The report comes from the real stages in a tiny pipeline with fake upstream stages
 * (./pipeline.ts). Without /usr/bin/chromium this test FAILS (CI installs it).
 */
import { afterAll, describe, expect, it } from "vitest"
import { Effect, Schema } from "effect"
import { existsSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { pathToFileURL } from "node:url"
import { chromium, type Browser } from "playwright-core"
import { runPipeline } from "@dpipe/runtime"
import { formatEpsilon, PrivacyStatement } from "@dpipe/stages/report-stages/index"
import { tempStore } from "../../runtime/helpers.ts"
import { HOSTILE } from "./fixtures.ts"
import { reportPipeline } from "./pipeline.ts"

const CHROMIUM = "/usr/bin/chromium"

// The page-side code runs in Chromium; it is a string because the project's TypeScript
// has no DOM types. Its JSON result is decoded with a Schema.
const PAGE_PROBE = `(() => {
  const visible = (e) => { if (!e) return false; const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0 }
  const charts = Array.from(document.querySelectorAll("svg[data-chart]")).map((svg) => {
    const box = svg.getBoundingClientRect()
    const paths = Array.from(svg.querySelectorAll("path.series")).map((p) => {
      const b = p.getBBox()
      return { series: p.getAttribute("data-series") || "", d: p.getAttribute("d") || "", width: b.width, height: b.height, length: p.getTotalLength() }
    })
    const pointsBySeries = {}
    for (const c of svg.querySelectorAll("circle.point")) {
      const s = c.getAttribute("data-series") || ""
      if (visible(c)) pointsBySeries[s] = (pointsBySeries[s] || 0) + 1
    }
    const seriesNames = Array.from(svg.querySelectorAll("g.series-group")).map((g) => g.getAttribute("data-series") || "")
    return { id: svg.getAttribute("data-chart") || "", empty: svg.getAttribute("data-empty") === "true", paths, pointsBySeries, seriesNames, width: box.width, height: box.height }
  })
  const blocks = Array.from(document.querySelectorAll("figure.block")).map((f) => {
    const badge = f.querySelector("figcaption .badge")
    return { id: f.getAttribute("data-block") || "", label: f.getAttribute("data-label") || "", badge: badge ? badge.innerText : "", visible: visible(badge) }
  })
  const eps = document.querySelector("#table-privacy-statement [data-epsilon]")
  const paragraph = document.querySelector("#table-privacy-statement .statement-text")
  const evaluation = Array.from(document.querySelectorAll("table[data-table=evaluation] tbody tr")).map((r) => Array.from(r.children).map((c) => c.innerText))
  const notes = Array.from(document.querySelectorAll("#table-memorization p.note")).map((p) => p.innerText)
  return {
    charts,
    blocks,
    epsilon: { text: eps ? eps.innerText : "", value: eps ? eps.getAttribute("data-epsilon") || "" : "", visible: visible(eps) },
    paragraph: paragraph ? paragraph.innerText : "",
    evaluation,
    notes,
    injected: document.querySelectorAll("script, img, iframe, object, embed").length,
    pwned: typeof window.__pwned === "undefined" ? null : String(window.__pwned)
  }
})()`

const Probe = Schema.Struct({
  charts: Schema.Array(
    Schema.Struct({
      id: Schema.String,
      empty: Schema.Boolean,
      paths: Schema.Array(Schema.Struct({ series: Schema.String, d: Schema.String, width: Schema.Number, height: Schema.Number, length: Schema.Number })),
      pointsBySeries: Schema.Record(Schema.String, Schema.Number),
      seriesNames: Schema.Array(Schema.String),
      width: Schema.Number,
      height: Schema.Number
    })
  ),
  blocks: Schema.Array(Schema.Struct({ id: Schema.String, label: Schema.String, badge: Schema.String, visible: Schema.Boolean })),
  epsilon: Schema.Struct({ text: Schema.String, value: Schema.String, visible: Schema.Boolean }),
  paragraph: Schema.String,
  evaluation: Schema.Array(Schema.Array(Schema.String)),
  notes: Schema.Array(Schema.String),
  injected: Schema.Number,
  pwned: Schema.NullOr(Schema.String)
})

describe("report.html in headless Chromium", () => {
  let browser: Browser | undefined

  afterAll(async () => {
    await browser?.close()
  })

  it("renders charts with marks, privacy labels and the statement's epsilon, without console errors", async () => {
    const store = tempStore()
    const run = await Effect.runPromise(runPipeline(reportPipeline(), { store, runId: "browser" }))
    const st = run.record.nodes["privacy-statement"]!
    const rp = run.record.nodes["report"]!
    const statement = Schema.decodeUnknownSync(PrivacyStatement)(JSON.parse(readFileSync(join(store, "cache", st.key!, "statement.json"), "utf8")))
    const reportPath = join(store, "cache", rp.key!, "report.html")

    // Fail (not skip) without the browser: CI installs Debian's chromium.
    expect(existsSync(CHROMIUM), `${CHROMIUM} is missing: install Debian's chromium (apt-get install chromium; .ci/run does it) to run the report's browser test`).toBe(true)
    // playwright-core launches with a fresh temporary profile (user-data-dir) of its own.
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
      timeout: 30_000
    })
    const context = await browser.newContext({ javaScriptEnabled: true, offline: true })
    const page = await context.newPage()
    const problems: Array<string> = []
    page.on("console", (m) => {
      if (m.type() === "error" || m.type() === "warning") problems.push(`console ${m.type()}: ${m.text()}`)
    })
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`))
    page.on("requestfailed", (r) => problems.push(`request failed: ${r.url()}`))
    const requests: Array<string> = []
    page.on("request", (r) => requests.push(r.url()))
    await page.goto(pathToFileURL(reportPath).href, { waitUntil: "load" })

    const probe = Schema.decodeUnknownSync(Probe)(await page.evaluate(PAGE_PROBE))

    // Charts: each has drawn marks.
    const byId = new Map(probe.charts.map((c) => [c.id, c]))
    expect([...byId.keys()].sort()).toEqual(["clipped", "epsilon", "loss"])
    for (const c of probe.charts) {
      expect(c.empty, c.id).toBe(false)
      expect(c.width, c.id).toBeGreaterThan(100)
      expect(c.height, c.id).toBeGreaterThan(50)
      expect(c.paths.length, c.id).toBeGreaterThan(0)
      for (const p of c.paths) {
        expect(p.d, `${c.id}/${p.series}`).toMatch(/^M[\d.]+,[\d.]+( [ML][\d.]+,[\d.]+)+$/)
        expect(p.length, `${c.id}/${p.series}`).toBeGreaterThan(10)
        expect(p.width, `${c.id}/${p.series}`).toBeGreaterThan(10)
      }
      for (const s of c.seriesNames) expect(c.pointsBySeries[s] ?? 0, `${c.id}/${s} points`).toBeGreaterThan(0)
    }
    expect(byId.get("loss")!.seriesNames).toEqual(["DP-SGD", "non-private"])
    expect(byId.get("epsilon")!.seriesNames).toEqual(["RDP (per step)", "PLD (final)"])

    // Privacy labels: every block shows its label as a visible badge.
    expect(probe.blocks.map((b) => [b.id, b.label])).toEqual([
      ["privacy-statement", "dp"],
      ["loss", "private"],
      ["epsilon", "private"],
      ["clipped", "private"],
      // The stability guard's probe losses come from the DP run's metrics table, private as a whole.
      ["stability", "private"],
      ["evaluation", "private"],
      ["memorization", "private"]
    ])
    for (const b of probe.blocks) {
      expect(b.visible, `${b.id} badge visible`).toBe(true)
      expect(b.badge.toLowerCase()).toBe(b.label)
    }

    // The privacy statement shows the run's epsilon: the number in statement.json.
    expect(probe.epsilon.visible).toBe(true)
    expect(Number(probe.epsilon.value)).toBe(statement.epsilon)
    expect(probe.epsilon.text).toBe(formatEpsilon(statement.epsilon))
    expect(probe.paragraph).toContain(`epsilon = ${formatEpsilon(statement.epsilon)}`)
    expect(probe.paragraph).toContain("128-token training sequence")

    // Hostile strings are text: shown literally, never executed or parsed as markup.
    expect(probe.pwned).toBeNull()
    expect(probe.injected).toBe(0)
    expect(probe.evaluation.map((r) => r[0])).toEqual(["DP-SGD", "non-private", "unigram"])
    expect(probe.evaluation[0]![1]).toBe(`DP-SGD model ${HOSTILE.secret}`)
    expect(probe.notes.some((n) => n.includes(`greedy ${HOSTILE.id}`))).toBe(true)
    expect(probe.notes.some((n) => n.includes(`note ${HOSTILE.set}`))).toBe(true)

    // Self-contained: the page loaded nothing but itself, and logged nothing.
    expect(requests).toEqual([pathToFileURL(reportPath).href])
    expect(problems).toEqual([])
    await context.close()
  }, 60_000)
})
