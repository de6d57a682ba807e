/**
 * The dashboard's HTTP server (`pipeline ui`, README.md "The dashboard"), on Effect's
 * HTTP server over node:http. Routes:
 *
 *   /                                   the runs page          (static/index.html)
 *   /runs/:id                           one run                (static/run.html)
 *   /runs/:id/artifacts/:node/:output   one artifact           (static/artifact.html)
 *   /runs/:id/files/:file               a published file (report.html); private ones with ?private=1
 *   /static/:file                       the pages' scripts and styles (files of static/, nothing else)
 *   /api/...                            the JSON API (api-schemas.ts)
 *
 * Every answer forbids framing, sniffing and caching; pages may load scripts, styles and
 * data only from this server (Content-Security-Policy), and their scripts put store
 * values into the page as text nodes only. Access rules: access.ts.
 */
import { Effect, Layer, Schema, Stream } from "effect"
import { HttpServer, HttpServerRequest, HttpServerResponse } from "effect/http"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { readdirSync, readFileSync } from "node:fs"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { fileURLToPath } from "node:url"
import { join } from "node:path"
import { messageOf } from "../errors.ts"
import type { StoreLayout } from "../store/layout.ts"
import { type Access, TOKEN_COOKIE, checkAccess } from "./access.ts"
import { ApiError, ArtifactView, RunDetail, RunList } from "./api-schemas.ts"
import { UiStartFailed, type UiRequestError } from "./errors.ts"
import { runEventStream } from "./run-events.ts"
import { StoreBudget } from "./store-budget.ts"
import { artifactView, listRuns, publishedFile, runDetail } from "./store-view.ts"

const STATIC_DIR = fileURLToPath(new URL("./static/", import.meta.url))
const TYPES: Record<string, string> = { html: "text/html; charset=utf-8", js: "text/javascript; charset=utf-8", css: "text/css; charset=utf-8", svg: "image/svg+xml" }

/** The shipped page files, read once: only these names are ever served. */
const loadStatic = (): ReadonlyMap<string, { readonly body: Uint8Array; readonly type: string }> =>
  new Map(
    readdirSync(STATIC_DIR)
      .filter((f) => TYPES[f.split(".").pop() ?? ""] !== undefined)
      .map((f) => [f, { body: new Uint8Array(readFileSync(join(STATIC_DIR, f))), type: TYPES[f.split(".").pop()!]! }] as const)
  )

const PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
/** Published files (report.html) may style themselves but never run code. */
const FILE_CSP = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'"

const baseHeaders = { "x-content-type-options": "nosniff", "referrer-policy": "no-referrer", "cache-control": "no-store", "x-frame-options": "DENY" }

const jsonError = (status: number, error: string, message: string) =>
  HttpServerResponse.jsonUnsafe(Schema.encodeSync(ApiError)({ error, message }), { status })

const errorResponse = (e: UiRequestError) =>
  jsonError(e._tag === "UiNotFound" ? 404 : e._tag === "UiPrivateContent" ? 403 : 500, e._tag, e.message)

const respondJson = <S extends Schema.Top & { readonly DecodingServices: never; readonly EncodingServices: never }>(schema: S, value: S["Type"]) =>
  Effect.sync(() => HttpServerResponse.jsonUnsafe(Schema.encodeUnknownSync(schema)(value)))

export interface DashboardOptions {
  readonly store: StoreLayout
  readonly access: Access
}

const segments = (path: string): Array<string> | undefined => {
  try {
    return path.split("/").filter((s) => s.length > 0).map((s) => decodeURIComponent(s))
  } catch {
    return undefined
  }
}

/** The whole application: access check, then the route. */
export const dashboardApp = (options: DashboardOptions) => {
  const files = loadStatic()
  const page = (name: string) => {
    const f = files.get(name)!
    return HttpServerResponse.uint8Array(f.body, { contentType: f.type, headers: { "content-security-policy": PAGE_CSP } })
  }
  const route = (path: Array<string>, query: URLSearchParams): Effect.Effect<HttpServerResponse.HttpServerResponse, UiRequestError, StoreBudget> => {
    const [a, b, c, d, e, f] = path
    const reveal = query.get("private") === "1"
    if (path.length > (a === "api" ? 6 : 5)) return Effect.succeed(jsonError(404, "UiNotFound", "no such page"))
    if (a === undefined) return Effect.succeed(page("index.html"))
    if (a === "static" && b !== undefined && c === undefined) {
      const file = files.get(b)
      return Effect.succeed(file === undefined ? jsonError(404, "UiNotFound", `no static file ${b}`) : HttpServerResponse.uint8Array(file.body, { contentType: file.type }))
    }
    if (a === "runs" && b !== undefined) {
      if (c === undefined) return Effect.succeed(page("run.html"))
      if (c === "artifacts" && d !== undefined && e !== undefined) return Effect.succeed(page("artifact.html"))
      if (c === "files" && d !== undefined && e === undefined) {
        return publishedFile(options.store, b, d, reveal).pipe(
          Effect.map((bytes) =>
            HttpServerResponse.uint8Array(new Uint8Array(bytes), {
              contentType: d.endsWith(".html") ? "text/html; charset=utf-8" : "application/octet-stream",
              headers: { "content-security-policy": FILE_CSP }
            })
          )
        )
      }
    }
    if (a === "api" && b === "runs") {
      if (c === undefined) return listRuns(options.store).pipe(Effect.flatMap((runs) => respondJson(RunList, { store: options.store.root, runs })))
      if (d === undefined) return runDetail(options.store, c).pipe(Effect.flatMap((detail) => respondJson(RunDetail, detail)))
      if (d === "events" && e === undefined) {
        return Effect.succeed(
          HttpServerResponse.stream(Stream.encodeText(runEventStream(options.store, c)), {
            contentType: "text/event-stream; charset=utf-8",
            headers: { "x-accel-buffering": "no" }
          })
        )
      }
      if (d === "artifacts" && e !== undefined) {
        if (f === undefined) return Effect.succeed(jsonError(404, "UiNotFound", "name the output: /api/runs/:id/artifacts/:node/:output"))
        const rows = Math.min(Math.max(Number.parseInt(query.get("rows") ?? "10", 10) || 10, 1), 200)
        return artifactView(options.store, c, e, f, { rows, reveal }).pipe(Effect.flatMap((view) => respondJson(ArtifactView, view)))
      }
    }
    return Effect.succeed(jsonError(404, "UiNotFound", "no such page"))
  }

  return Effect.gen(function* () {
    const req = yield* HttpServerRequest.HttpServerRequest
    const url = new URL(req.url, "http://dashboard.invalid")
    const verdict = checkAccess(options.access, {
      host: req.headers["host"],
      queryToken: url.searchParams.get("token") ?? undefined,
      cookieToken: req.cookies[TOKEN_COOKIE],
      authorization: req.headers["authorization"]
    })
    let response: HttpServerResponse.HttpServerResponse
    if (!verdict.ok) {
      response = jsonError(verdict.status, verdict.status === 401 ? "Unauthorized" : "Forbidden", verdict.message)
    } else if (req.method !== "GET" && req.method !== "HEAD") {
      response = jsonError(405, "MethodNotAllowed", "the dashboard is read-only: GET only")
    } else {
      // The route table is exact, so a path with an extra segment is still a 404.
      const path = url.pathname === "/api/runs/" ? ["api", "runs"] : segments(url.pathname)
      response = path === undefined
        ? jsonError(400, "BadRequest", "malformed path")
        : yield* route(path, url.searchParams).pipe(Effect.catch((e: UiRequestError) => Effect.succeed(errorResponse(e))))
      if (verdict.setCookie && options.access.token !== undefined) {
        response = HttpServerResponse.setCookieUnsafe(response, TOKEN_COOKIE, options.access.token, { httpOnly: true, sameSite: "strict", path: "/" })
      }
    }
    return HttpServerResponse.setHeaders(response, baseHeaders)
  })
}

export interface RunningDashboard {
  readonly host: string
  readonly port: number
  /** The address to open: with `?token=` when a token is required. */
  readonly url: string
}

/**
 * Starts the dashboard in the current scope (closing the scope stops it). Needs the
 * StoreBudget service (noStoreBudget when the store keeps no store-wide budget).
 */
export const startDashboard = Effect.fn("startDashboard")(function* (options: DashboardOptions & { readonly host: string; readonly port: number }) {
  const server = createServer()
  const app = dashboardApp(options)
  const budget = yield* StoreBudget
  const serve = HttpServer.serve(app.pipe(Effect.provideService(StoreBudget, budget))).pipe(
    Layer.provide(NodeHttpServer.layer(() => server, { host: options.host, port: options.port, gracefulShutdownTimeout: "500 millis" }))
  )
  yield* Layer.build(serve).pipe(
    Effect.mapError((e) =>
      new UiStartFailed({
        host: options.host,
        port: options.port,
        message: `cannot listen on ${options.host}:${options.port} (${messageOf(e.cause)}). Choose another port with --port P (0 picks a free one), or another address with --host H.`
      })
    )
  )
  const address = server.address() as AddressInfo
  const shownHost = address.family === "IPv6" ? `[${address.address}]` : address.address
  const url = `http://${shownHost}:${address.port}/${options.access.token !== undefined ? `?token=${options.access.token}` : ""}`
  const running: RunningDashboard = { host: address.address, port: address.port, url }
  return running
})

