/**
 * Who may use the dashboard (README.md, "The dashboard"). Bound to a loopback address
 * (the default, 127.0.0.1) it answers requests whose Host header names this machine
 * (a page of another site that resolves its name to 127.0.0.1 gets nothing). Bound to
 * any other address it requires a token, printed at start as a `?token=` link: the
 * token arrives as that query parameter (the answer then sets it as a same-site
 * cookie, so the page's own requests carry it), as the cookie, or as
 * `Authorization: Bearer <token>`. Anything else gets 401.
 */
import { randomBytes, timingSafeEqual } from "node:crypto"

export const TOKEN_COOKIE = "dpipe_ui_token"

export interface Access {
  /** Required on every request when set. */
  readonly token: string | undefined
  /** The server listens on loopback only: requests must name a local host. */
  readonly loopback: boolean
}

export const isLoopbackHost = (host: string): boolean =>
  host === "localhost" || host === "::1" || host === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(host)

/** The access rule for a bind address: a token unless it is loopback. */
export const accessFor = (host: string): Access =>
  isLoopbackHost(host) ? { token: undefined, loopback: true } : { token: randomBytes(24).toString("base64url"), loopback: false }

const sameToken = (given: string, expected: string): boolean => {
  const a = Buffer.from(given)
  const b = Buffer.from(expected)
  return a.length === b.length && timingSafeEqual(a, b)
}

/** The host name of a Host header value (without the port). */
const hostName = (header: string): string => {
  const h = header.trim().toLowerCase()
  if (h.startsWith("[")) return h.slice(0, h.indexOf("]") + 1)
  const i = h.lastIndexOf(":")
  return i >= 0 ? h.slice(0, i) : h
}

export type Verdict =
  | { readonly ok: true; readonly setCookie: boolean }
  | { readonly ok: false; readonly status: 401 | 403; readonly message: string }

/** Decides one request from its Host header, query token, cookies and Authorization header. */
export const checkAccess = (
  access: Access,
  request: { readonly host: string | undefined; readonly queryToken: string | undefined; readonly cookieToken: string | undefined; readonly authorization: string | undefined }
): Verdict => {
  if (access.loopback && (request.host === undefined || !isLoopbackHost(hostName(request.host)))) {
    return { ok: false, status: 403, message: "this dashboard listens on loopback only; open it as http://127.0.0.1:<port>/ or http://localhost:<port>/" }
  }
  if (access.token === undefined) return { ok: true, setCookie: false }
  if (request.queryToken !== undefined && sameToken(request.queryToken, access.token)) return { ok: true, setCookie: true }
  if (request.cookieToken !== undefined && sameToken(request.cookieToken, access.token)) return { ok: true, setCookie: false }
  const bearer = /^Bearer\s+(\S+)$/i.exec(request.authorization ?? "")?.[1]
  if (bearer !== undefined && sameToken(bearer, access.token)) return { ok: true, setCookie: false }
  return { ok: false, status: 401, message: "a token is required: open the ?token= link that `pipeline ui` printed, or send Authorization: Bearer <token>" }
}
