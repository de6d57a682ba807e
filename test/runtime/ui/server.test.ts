/**
 * The dashboard's server without a browser: the JSON API (README.md, "The dashboard")
 * over a real store, the private-rows rule, the access rules (a token off loopback,
 * 401 without it; the Host check on loopback), the live feed's first events, and
 * Ctrl-C stopping `pipeline ui`.
 */
import { describe, expect, it } from "vitest"
import { get } from "node:http"
import { Effect, Schema } from "effect"
import { runPipeline } from "@dpipe/runtime"
import { layout } from "@dpipe/runtime/store/layout"
import { accessFor } from "@dpipe/runtime/ui/access"
import { ApiError, ArtifactView, RunDetail, RunList } from "@dpipe/runtime/ui/api-schemas"
import { startDashboard } from "@dpipe/runtime/ui/server"
import { noStoreBudget } from "@dpipe/runtime/ui/store-budget"
import { startCli, tempStore } from "../helpers.ts"
import { MARKUP, SECRET, hostilePipeline } from "./pipelines/hostile.ts"

/** Runs `body` against a dashboard of `store` on a free loopback port. */
const withDashboard = <A>(store: string, body: (base: string) => Promise<A>): Promise<A> =>
  Effect.runPromise(
    Effect.scoped(
      Effect.gen(function* () {
        const running = yield* startDashboard({ store: layout(store), access: accessFor("127.0.0.1"), host: "127.0.0.1", port: 0 })
        return yield* Effect.promise(() => body(`http://127.0.0.1:${running.port}`))
      })
    ).pipe(Effect.provide(noStoreBudget))
  )

const getJson = async (url: string, init?: RequestInit) => {
  const r = await fetch(url, init)
  return { status: r.status, text: await r.text(), headers: r.headers }
}

/** Waits for a line of the child's stdout that matches. */
const waitFor = async (output: () => string, re: RegExp, ms = 20_000): Promise<RegExpExecArray> => {
  const until = Date.now() + ms
  for (;;) {
    const m = re.exec(output())
    if (m !== null) return m
    if (Date.now() > until) throw new Error(`no match for ${re} in: ${output()}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

describe("pipeline ui: the server", () => {
  it("serves runs, a run and artifacts as JSON; private rows only with ?private=1", async () => {
    const store = tempStore()
    await Effect.runPromise(runPipeline(hostilePipeline(), { store, runId: "hostile" }))
    await withDashboard(store, async (base) => {
      const list = Schema.decodeUnknownSync(RunList)(JSON.parse((await getJson(`${base}/api/runs`)).text))
      expect(list.runs.map((r) => [r.runId, r.status, r.description])).toEqual([["hostile", "succeeded", MARKUP.description]])
      expect(list.runs[0]!.stages).toEqual({ total: 1, byStatus: { pending: 0, running: 0, done: 1, cached: 0, failed: 0, blocked: 0, interrupted: 0 } })

      const detail = Schema.decodeUnknownSync(RunDetail)(JSON.parse((await getJson(`${base}/api/runs/hostile`)).text))
      expect(detail.run.nodes["source"]!.outputs!["secrets"]!.label).toBe("private")
      expect(detail.storeBudget).toBeUndefined()

      // Private table: schema and row count, no rows, and the secret is nowhere in the answer.
      const hidden = await getJson(`${base}/api/runs/hostile/artifacts/source/secrets`)
      expect(hidden.status).toBe(200)
      expect(hidden.text).not.toContain(SECRET)
      const hv = Schema.decodeUnknownSync(ArtifactView)(JSON.parse(hidden.text))
      expect([hv.withheld, hv.rows, hv.head, hv.schema?.map((f) => f.name)]).toEqual([true, 2, undefined, ["id", "text"]])
      // With the explicit reveal the rows come.
      const shown = Schema.decodeUnknownSync(ArtifactView)(JSON.parse((await getJson(`${base}/api/runs/hostile/artifacts/source/secrets?private=1`)).text))
      expect(shown.withheld).toBe(false)
      expect(shown.head?.map((r) => r["text"])).toEqual([SECRET, "another private row"])
      // A public table needs no reveal.
      const pub = Schema.decodeUnknownSync(ArtifactView)(JSON.parse((await getJson(`${base}/api/runs/hostile/artifacts/source/notes`)).text))
      expect([pub.withheld, pub.head?.[0]?.["note"]]).toEqual([false, MARKUP.cell])

      // Unknown runs, stages and outputs, odd paths: JSON 404s, never a file outside the store.
      for (const path of ["/api/runs/nope", "/api/runs/hostile/artifacts/nope/x", "/api/runs/hostile/artifacts/source/nope", "/api/runs/..%2F..%2Fsecret.key", "/static/..%2Fserver.ts", "/runs/hostile/files/run.json"]) {
        const r = await getJson(`${base}${path}`)
        expect(r.status, path).toBe(404)
        Schema.decodeUnknownSync(ApiError)(JSON.parse(r.text))
      }
      // Pages carry a policy that forbids inline and foreign scripts.
      const page = await getJson(`${base}/runs/hostile`)
      expect(page.status).toBe(200)
      expect(page.headers.get("content-security-policy")).toContain("script-src 'self'")
      expect(page.headers.get("x-content-type-options")).toBe("nosniff")
      // On loopback, a request naming another host (DNS rebinding) is refused.
      // (fetch may not set Host, so node:http sends this one.)
      const rebound = await new Promise<number | undefined>((res, rej) =>
        get(`${base}/api/runs`, { headers: { host: "evil.example" } }, (r) => {
          r.resume()
          res(r.statusCode)
        }).on("error", rej)
      )
      expect(rebound).toBe(403)
    })
  }, 30_000)

  it("streams a snapshot with the run record and its progress events", async () => {
    const store = tempStore()
    await Effect.runPromise(runPipeline(hostilePipeline(), { store, runId: "hostile" }))
    await withDashboard(store, async (base) => {
      const controller = new AbortController()
      const r = await fetch(`${base}/api/runs/hostile/events`, { signal: controller.signal })
      expect(r.headers.get("content-type")).toContain("text/event-stream")
      const reader = r.body!.getReader()
      let text = ""
      while (!text.includes("\n\n")) text += new TextDecoder().decode((await reader.read()).value)
      controller.abort()
      const [event, data] = text.split("\n")
      expect(event).toBe("event: snapshot")
      const snapshot = JSON.parse(data!.slice("data: ".length)) as { run: { status: string }; events: Array<{ type: string; message?: string }> }
      expect(snapshot.run.status).toBe("succeeded")
      expect(snapshot.events.map((e) => e.type)).toEqual(["run-start", "stage-start", "stage-info", "stage-done", "run-end"])
      expect(snapshot.events.find((e) => e.type === "stage-info")?.message).toBe(MARKUP.message)
    })
  }, 30_000)

  it("with --host 0.0.0.0 every request needs the printed token (401 without); Ctrl-C stops it", async () => {
    const store = tempStore()
    const ui = startCli(["ui", "--store", store, "--host", "0.0.0.0", "--port", "0"])
    try {
      const m = await waitFor(ui.output, /http:\/\/[^\s/]+:(\d+)\/\?token=([A-Za-z0-9_-]+)/)
      const base = `http://127.0.0.1:${m[1]}`
      const token = m[2]!
      for (const path of ["/", "/api/runs", "/static/run.js", "/api/runs/x/events"]) {
        const r = await getJson(`${base}${path}`)
        expect(r.status, path).toBe(401)
        expect(Schema.decodeUnknownSync(ApiError)(JSON.parse(r.text)).error).toBe("Unauthorized")
      }
      expect((await getJson(`${base}/api/runs?token=wrong`)).status).toBe(401)
      const withQuery = await getJson(`${base}/?token=${token}`)
      expect(withQuery.status).toBe(200)
      // The link sets the token as a same-site, script-inaccessible cookie for the page's own requests.
      const cookie = withQuery.headers.get("set-cookie") ?? ""
      expect(cookie).toMatch(/^dpipe_ui_token=/)
      expect(cookie).toMatch(/HttpOnly/i)
      expect(cookie).toMatch(/SameSite=Strict/i)
      expect((await getJson(`${base}/api/runs`, { headers: { cookie: cookie.split(";")[0]! } })).status).toBe(200)
      expect((await getJson(`${base}/api/runs`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200)
    } finally {
      ui.child.kill("SIGINT")
    }
    const done = await ui.done
    expect(done.code === 130 || done.code === 0 || done.signal === "SIGINT", `exit ${done.code} ${done.signal}: ${done.stderr}`).toBe(true)
  }, 30_000)
})
