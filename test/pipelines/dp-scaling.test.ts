/**
 * The dp-scaling pipeline at the micro scale, end to end: every enabled sweep point
 * trains and logs observations, the fit's law decodes with the ScalingLaw schema, every
 * artifact is public (the sweep never reads private data), a second run reuses every
 * point, a changed point recomputes only itself and the fit, and report.html renders its
 * charts in headless Chromium (Debian's /usr/bin/chromium through playwright-core; the
 * test FAILS without it).
 */
import { afterAll, describe, expect, it } from "vitest"
import { Effect, Result, Schema } from "effect"
import { existsSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { pathToFileURL } from "node:url"
import { chromium, type Browser } from "playwright-core"
import { layout, runPipeline } from "@dpipe/runtime"
import { decodeLaw } from "@dpipe/scaling"
import dpScaling, { sweepScales } from "../../pipelines/dp-scaling.ts"
import { enabledPoints, pointId, type SweepScale } from "@dpipe/stages/scaling-stages/index"
import { tempStore } from "../runtime/helpers.ts"

const CHROMIUM = "/usr/bin/chromium"
const micro = sweepScales.micro as SweepScale

const PAGE_PROBE = `(() => Array.from(document.querySelectorAll("svg[data-chart]")).map((svg) => ({
  id: svg.getAttribute("data-chart") || "",
  empty: svg.getAttribute("data-empty") === "true",
  paths: Array.from(svg.querySelectorAll("path.series")).map((p) => { const b = p.getBBox(); return { series: p.getAttribute("data-series") || "", width: b.width, height: b.height, length: p.getTotalLength() } })
})))()`
const Probe = Schema.Array(Schema.Struct({ id: Schema.String, empty: Schema.Boolean, paths: Schema.Array(Schema.Struct({ series: Schema.String, width: Schema.Number, height: Schema.Number, length: Schema.Number })) }))

describe("dp-scaling (micro)", () => {
  let browser: Browser | undefined
  afterAll(async () => {
    await browser?.close()
  })

  it("sweeps, fits a law that decodes, reuses finished points, and reports", async () => {
    const store = tempStore()
    const first = await Effect.runPromise(runPipeline(dpScaling, { store, scale: "micro", runId: "a" }))
    expect(first.record.status).toBe("succeeded")
    const nodes = first.record.nodes
    const points = enabledPoints(micro)
    expect(points.length).toBe(micro.models.length * micro.sigmaBarExponents.length * micro.lrExponents.length)

    // Every enabled point logged an observation every evalEvery steps; all of it is public.
    const fitKey = nodes["fit"]!.key!
    const lawJson: unknown = JSON.parse(readFileSync(join(store, "cache", fitKey, "law.json"), "utf8"))
    const law = decodeLaw(lawJson)
    expect(Result.isSuccess(law), Result.isFailure(law) ? law.failure.message : "").toBe(true)
    if (Result.isFailure(law)) return
    expect(law.success.models.map((m) => m.name).sort()).toEqual([...micro.models].sort())
    expect(law.success.physicalBatch).toBe(micro.batchSize)
    expect(law.success.provenance.observations).toBe(points.length * (micro.steps / micro.evalEvery))
    for (const [id, n] of Object.entries(nodes)) for (const [out, o] of Object.entries(n.outputs ?? {})) expect(`${id}.${out}:${o.label}`).toBe(`${id}.${out}:public`)
    // The published law is the fit's output.
    expect(JSON.parse(readFileSync(join(layout(store).runDir("a"), "law.json"), "utf8"))).toEqual(lawJson)

    // A second run reuses every point and the fit.
    const second = await Effect.runPromise(runPipeline(dpScaling, { store, scale: "micro", runId: "b" }))
    for (const p of points) expect(`${p.id}:${second.record.nodes[p.id]!.status}`).toBe(`${p.id}:cached`)
    expect(second.record.nodes["fit"]!.status).toBe("cached")

    // A changed point recomputes itself and the fit; every other point is reused.
    const changed = pointId("tiny", 8, micro.lrExponents[0]!)
    const third = await Effect.runPromise(runPipeline(dpScaling, { store, scale: "micro", runId: "c", settings: { [`${changed}.initSeed`]: 1 } }))
    for (const p of points) expect(`${p.id}:${third.record.nodes[p.id]!.status}`).toBe(`${p.id}:${p.id === changed ? "done" : "cached"}`)
    expect(third.record.nodes["fit"]!.status).toBe("done")

    // report.html: every chart has drawn series in a browser.
    const reportPath = join(layout(store).runDir("a"), "report.html")
    expect(existsSync(CHROMIUM), `${CHROMIUM} is missing: install Debian's chromium (apt-get install chromium) to run the report's browser test`).toBe(true)
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"], timeout: 30_000 })
    const context = await browser.newContext({ javaScriptEnabled: true, offline: true })
    const page = await context.newPage()
    const problems: Array<string> = []
    page.on("console", (m) => {
      if (m.type() === "error" || m.type() === "warning") problems.push(`console ${m.type()}: ${m.text()}`)
    })
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`))
    await page.goto(pathToFileURL(reportPath).href, { waitUntil: "load" })
    const charts = Schema.decodeUnknownSync(Probe)(await page.evaluate(PAGE_PROBE))
    const ids = charts.map((c) => c.id).sort()
    expect(ids).toEqual([...micro.models.flatMap((m) => [`iso-${m}`, `loss-${m}`]), "planner-allocation", "planner-loss"].sort())
    for (const c of charts) {
      expect(c.empty, c.id).toBe(false)
      const drawn = c.paths.filter((p) => p.length > 0 && (p.width > 0 || p.height > 0))
      expect(drawn.length, `${c.id}: ${JSON.stringify(c.paths)}`).toBeGreaterThan(0)
    }
    // Loss charts: one series per noise-batch ratio.
    const loss = charts.find((c) => c.id === `loss-${micro.models[0]}`)!
    expect(loss.paths.length).toBe(micro.sigmaBarExponents.length)
    expect(problems).toEqual([])
    await context.close()
  }, 900_000)
})
