/**
 * The dashboard in headless Chromium (Debian's /usr/bin/chromium through
 * playwright-core, as the report's browser test): `pipeline ui` on a free port, a micro
 * run of vaultgemma-1b started in the same store, and what a reader sees.
 *
 * - the run appears on the runs page; on its page the DAG's stages turn from pending to
 *   running to done, and the loss chart gains points while DP training runs (recorded in
 *   the page by a MutationObserver installed before the page's own scripts, so nothing
 *   waits a fixed time); no console errors;
 * - a private table's rows are not in the page (nor in any answer the page received)
 *   until the reveal is clicked;
 * - markup in a pipeline description, a stage message and a table cell stays text;
 * - screenshots of the runs page and a run page are saved (into docs/images with
 *   DPIPE_UPDATE_SCREENSHOTS=1, for the README; otherwise into a temporary folder).
 *
 * Without /usr/bin/chromium this test FAILS (CI installs it).
 */
import { afterAll, describe, expect, it } from "vitest"
import { Effect, Schema } from "effect"
import { existsSync, mkdirSync, readFileSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { chromium, type Browser, type Page } from "playwright-core"
import { runPipeline } from "@dpipe/runtime"
import { RunRecord } from "@dpipe/runtime/store/records"
import { repoRoot, startCli, tempStore } from "../helpers.ts"
import { MARKUP, SECRET, hostilePipeline } from "./pipelines/hostile.ts"

const CHROMIUM = "/usr/bin/chromium"
const STEPS = 60

// Runs in the page before its scripts (it is a string: the project's TypeScript has no
// DOM types). It records every distinct state of each DAG stage, and the number of
// points of dp-train's loss series together with dp-train's state at that moment.
const RECORDER = `(() => {
  const rec = { statuses: {}, loss: [] }
  window.__uiRecord = rec
  const sample = () => {
    for (const g of document.querySelectorAll("svg.dag g.stage")) {
      const id = g.getAttribute("data-node"), s = g.getAttribute("data-status")
      const seq = rec.statuses[id] || (rec.statuses[id] = [])
      if (seq[seq.length - 1] !== s) seq.push(s)
    }
    const dp = document.querySelector('svg.dag g.stage[data-node="dp-train"]')
    const chart = document.querySelector('svg[data-chart="loss"]')
    if (dp && chart) {
      const n = chart.querySelectorAll('circle.point[data-series="dp-train"]').length
      const status = dp.getAttribute("data-status")
      const last = rec.loss[rec.loss.length - 1]
      if (!last || last.n !== n || last.status !== status) rec.loss.push({ status, n })
    }
  }
  new MutationObserver(sample).observe(document, { subtree: true, childList: true, attributes: true })
})()`

const Record = Schema.Struct({
  statuses: Schema.Record(Schema.String, Schema.Array(Schema.String)),
  loss: Schema.Array(Schema.Struct({ status: Schema.String, n: Schema.Number }))
})

/** True when `seq` contains `wanted` in order (not necessarily adjacent). */
const inOrder = (seq: ReadonlyArray<string>, wanted: ReadonlyArray<string>): boolean => {
  let i = 0
  for (const s of seq) if (s === wanted[i]) i++
  return i === wanted.length
}

const waitForOutput = async (output: () => string, re: RegExp, ms: number): Promise<RegExpExecArray> => {
  const until = Date.now() + ms
  for (;;) {
    const m = re.exec(output())
    if (m !== null) return m
    if (Date.now() > until) throw new Error(`no match for ${re} in: ${output()}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

const text = (page: Page, selector: string) => page.locator(selector).first().innerText()

describe("pipeline ui in headless Chromium", () => {
  let browser: Browser | undefined
  const children: Array<{ kill: (s: NodeJS.Signals) => boolean }> = []

  afterAll(async () => {
    await browser?.close()
    for (const c of children) c.kill("SIGINT")
  })

  it("follows a micro run live, keeps private rows back until the reveal, and shows markup as text", async () => {
    expect(existsSync(CHROMIUM), `${CHROMIUM} is missing: install Debian's chromium (apt-get install chromium; .ci/run does it)`).toBe(true)
    const store = tempStore()
    const ui = startCli(["ui", "--store", store, "--port", "0"])
    children.push(ui.child)
    const base = (await waitForOutput(ui.output, /(http:\/\/127\.0\.0\.1:\d+)\//, 20_000))[1]!

    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"], timeout: 30_000 })
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 } })
    await context.addInitScript({ content: RECORDER })
    const page = await context.newPage()
    const problems: Array<string> = []
    page.on("console", (m) => {
      if (m.type() === "error" || m.type() === "warning") problems.push(`console ${m.type()}: ${m.text()}`)
    })
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`))
    // Leaving a page aborts its event stream and any poll of the API still in flight (the
    // runs page polls /api/runs): the browser cancelled them, the server did not fail.
    page.on("requestfailed", (r) => {
      const aborted = (r.failure()?.errorText ?? "").includes("ERR_ABORTED") && new URL(r.url()).pathname.startsWith("/api/")
      if (!aborted) problems.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ""}`)
    })
    const bodies: Array<string> = []
    page.on("response", (r) => {
      if (r.url().includes("/api/") && !r.url().endsWith("/events")) r.text().then((t) => bodies.push(t), () => undefined)
    })

    // The runs page, empty, then the run appears.
    await page.goto(`${base}/`)
    await page.waitForSelector("body[data-ready=true]")
    const run = startCli(
      ["run", "vaultgemma-1b", "--scale", "micro", "--store", store, "--run-id", "ui-micro",
        "--set", `dp-train.steps=${STEPS}`, "--set", `baseline.steps=${STEPS}`, "--set", "dp-train.noiseMultiplier=1.5"],
      { DPIPE_PIPELINES: join(repoRoot, "pipelines") }
    )
    children.push(run.child)
    await page.waitForSelector('tr[data-run="ui-micro"]', { timeout: 120_000 })
    expect(await text(page, 'tr[data-run="ui-micro"] td:nth-child(3)')).toContain("vaultgemma-1b")

    // Its page, while it runs: the recorder sees every state the page shows.
    await page.click('tr[data-run="ui-micro"] a.run-link')
    await page.waitForSelector("svg.dag g.stage")
    await page.waitForSelector('#summary .status[data-status="succeeded"]', { timeout: 240_000 })
    const done = await run.done
    expect(done.code, done.stderr).toBe(0)
    const rec = Schema.decodeUnknownSync(Record)(await page.evaluate("window.__uiRecord"))

    // Stages turned from pending to running to done: the stages that take seconds and start
    // after the page opened showed all three; every stage only moved forward and ended done
    // (one that ran for less than the store's polling interval may skip "running").
    for (const node of ["dp-train", "baseline", "evaluate", "memorization"]) {
      expect(inOrder(rec.statuses[node] ?? [], ["pending", "running", "done"]), `${node}: ${JSON.stringify(rec.statuses[node])}`).toBe(true)
    }
    for (const [node, seq] of Object.entries(rec.statuses)) {
      expect(inOrder(["pending", "running", "done"], seq), `${node}: ${JSON.stringify(seq)}`).toBe(true)
      expect(seq.at(-1), node).toBe("done")
    }
    // The loss chart gained points while dp-train was running: at least two different
    // positive counts were drawn before it finished, and all its steps at the end.
    const whileRunning = new Set(rec.loss.filter((s) => s.status === "running" && s.n > 0).map((s) => s.n))
    expect(whileRunning.size, JSON.stringify(rec.loss)).toBeGreaterThanOrEqual(2)
    expect(await page.locator('svg[data-chart="loss"] circle.point[data-series="dp-train"]').count()).toBe(STEPS)
    expect(await page.locator('svg[data-chart="loss"] circle.point[data-series="baseline"]').count()).toBe(STEPS)
    expect(await page.locator('svg[data-chart="epsilon"] g.reference').getAttribute("data-reference")).toBe("budget 8")
    expect(await page.locator('svg[data-chart="clipped"] circle.point').count()).toBe(STEPS)
    expect(await page.locator('svg[data-chart="throughput"] circle.point').count()).toBe(2 * STEPS)
    // The privacy spend shown is run.json's; every output is listed with its label.
    const record = Schema.decodeUnknownSync(RunRecord)(JSON.parse(readFileSync(join(store, "runs", "ui-micro", "run.json"), "utf8")))
    expect(Number(await page.locator("#summary [data-epsilon]").getAttribute("data-epsilon"))).toBe(record.privacy!.epsilon["pld"])
    const outputs = Object.values(record.nodes).flatMap((n) => Object.values(n.outputs ?? {}))
    expect(await page.locator("#artifacts-body tr").count()).toBe(outputs.length)
    expect(await page.locator('#published a[data-file="report.html"]').count()).toBe(1)
    expect(await page.locator("#statement-table").count()).toBe(1)

    // Screenshots for the README.
    const shots = process.env["DPIPE_UPDATE_SCREENSHOTS"] === "1" ? join(repoRoot, "docs/images") : join(tmpdir(), `dpipe-ui-shots-${process.pid}`)
    mkdirSync(shots, { recursive: true })
    await page.evaluate("window.scrollTo(0, 0)")
    await page.screenshot({ path: join(shots, "ui-run.png") })
    await page.locator("#charts").screenshot({ path: join(shots, "ui-charts.png") })
    await page.goto(`${base}/`)
    await page.waitForSelector('tr[data-run="ui-micro"][data-status="succeeded"]')
    await page.screenshot({ path: join(shots, "ui-runs.png") })
    for (const f of ["ui-run.png", "ui-charts.png", "ui-runs.png"]) expect(statSync(join(shots, f)).size).toBeGreaterThan(10_000)

    // A private table: the rows are not in the page until the reveal is clicked.
    await Effect.runPromise(runPipeline(hostilePipeline(), { store, runId: "hostile" }))
    await page.goto(`${base}/runs/hostile/artifacts/source/secrets`)
    await page.waitForSelector("body[data-ready=true]")
    expect(await text(page, "#row-count")).toBe("2")
    expect(await page.content()).not.toContain(SECRET)
    expect(await page.locator("#rows").count()).toBe(0)
    expect(await text(page, "#reveal")).toContain("private")
    await page.click("#reveal")
    await page.waitForSelector("#rows")
    expect(await text(page, "#rows")).toContain(SECRET)

    // Markup from the store is text: the description, a stage message, a table cell.
    await page.goto(`${base}/runs/hostile`)
    await page.waitForSelector("#messages li[data-node=source]")
    expect(await text(page, "#description")).toBe(MARKUP.description)
    const messages = await page.locator("#messages li[data-node=source]").allInnerTexts()
    expect(messages).toHaveLength(1)
    expect(messages[0]).toContain(MARKUP.message)
    await page.goto(`${base}/runs/hostile/artifacts/source/notes`)
    await page.waitForSelector("#rows")
    expect(await text(page, "#rows tbody tr td:nth-child(2)")).toBe(MARKUP.cell)
    await page.goto(`${base}/`)
    await page.waitForSelector('tr[data-run="hostile"] .description')
    expect(await text(page, 'tr[data-run="hostile"] .description')).toBe(MARKUP.description)
    const injected = await page.evaluate(`({ pwned: typeof window.__pwned === "undefined" ? null : String(window.__pwned), imgs: document.querySelectorAll("img, iframe, object, embed, main svg[onload]").length, scripts: document.querySelectorAll("script").length })`)
    expect(injected).toEqual({ pwned: null, imgs: 0, scripts: 1 })

    // Every answer the page received before the reveal lacked the secret; nothing logged.
    const revealAt = bodies.findIndex((b) => b.includes(SECRET))
    expect(revealAt).toBeGreaterThanOrEqual(0)
    expect(bodies.slice(0, revealAt).some((b) => b.includes(SECRET))).toBe(false)
    expect(problems).toEqual([])
    await context.close()
  }, 360_000)
})
