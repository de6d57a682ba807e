/**
 * A tiny HTML builder for the run report that makes injection structurally impossible.
 *
 * Markup is a branded value (`Html`); the only ways to make one are `el` (a tag whose
 * name and attribute names are checked against a fixed pattern, whose attribute values
 * are escaped, and whose string children are escaped), `text` (escaped text) and `raw`
 * (module-internal constants such as the stylesheet and the doctype). Strings from the
 * data (canary secrets, sample text, stage names: e-mail-derived, untrusted) can only
 * enter as escaped text or escaped attribute values.
 */

const brand: unique symbol = Symbol("dpipe/Html")

/** Markup that is safe to concatenate into a document. */
export interface Html {
  readonly [brand]: true
  readonly html: string
}

/** A child of an element: markup, or a string/number that is escaped. */
export type Child = Html | string | number | null | undefined | false | ReadonlyArray<Child>

/** Attribute values; `true` writes a bare attribute, `false`/`undefined` omits it. */
export type Attrs = Readonly<Record<string, string | number | boolean | undefined>>

const ESCAPES: Readonly<Record<string, string>> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }

/**
 * Escapes text for element content and double- or single-quoted attribute values.
 * Also replaces characters that are not allowed in HTML (C0 controls except tab, LF,
 * CR; lone surrogates) with U+FFFD, so the document always parses cleanly.
 */
export const escapeHtml = (s: string): string =>
  s
    .replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c)
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, "\uFFFD")

const mk = (html: string): Html => ({ [brand]: true, html })

/** Only for constant markup written in this package (never for data). */
export const raw = (html: string): Html => mk(html)

/** Escaped text. */
export const text = (s: string): Html => mk(escapeHtml(s))

export const isHtml = (c: unknown): c is Html => typeof c === "object" && c !== null && brand in c

const NAME = /^[a-zA-Z][a-zA-Z0-9-]*$/
const ATTR = /^[a-zA-Z_:][a-zA-Z0-9_:.-]*$/
const VOID = new Set(["br", "hr", "img", "meta", "link", "input", "col", "source", "wbr"])

/** Serializes children: markup as is, strings and numbers escaped, null/false skipped. */
export const render = (c: Child): string => {
  if (c === null || c === undefined || c === false) return ""
  if (typeof c === "string") return escapeHtml(c)
  if (typeof c === "number") return escapeHtml(String(c))
  if (isHtml(c)) return c.html
  let out = ""
  for (const x of c) out += render(x)
  return out
}

/** An element. Event-handler attributes (on*) and `javascript:` URLs are refused. */
export const el = (tag: string, attrs: Attrs = {}, ...children: ReadonlyArray<Child>): Html => {
  if (!NAME.test(tag)) throw new Error(`invalid tag name ${JSON.stringify(tag)}`)
  let open = `<${tag}`
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue
    if (!ATTR.test(k) || /^on/i.test(k)) throw new Error(`refusing attribute ${JSON.stringify(k)} on <${tag}>`)
    if (v === true) {
      open += ` ${k}`
      continue
    }
    const value = String(v)
    if (/^(href|src|xlink:href|action)$/i.test(k) && /^\s*(javascript|data|vbscript):/i.test(value)) throw new Error(`refusing ${k}=${JSON.stringify(value)} on <${tag}>`)
    open += ` ${k}="${escapeHtml(value)}"`
  }
  if (VOID.has(tag)) return mk(`${open}>`)
  return mk(`${open}>${render(children)}</${tag}>`)
}

/** Concatenates children into one fragment. */
export const fragment = (...children: ReadonlyArray<Child>): Html => mk(render(children))

/**
 * A whole self-contained report page: doctype, UTF-8, a Content-Security-Policy that allows
 * no script, no request and no remote resource (inline styles and data: images only), the
 * title, the stylesheet (a module constant) and the body. Both reports (a run's and the
 * dp-scaling sweep's) are written through it, so they share one policy.
 */
export const htmlDocument = (page: { readonly title: string; readonly style: string; readonly viewport?: boolean }, body: Child): string =>
  "<!doctype html>\n" +
  el(
    "html",
    { lang: "en" },
    el(
      "head",
      {},
      el("meta", { charset: "utf-8" }),
      el("meta", { "http-equiv": "Content-Security-Policy", content: "default-src 'none'; style-src 'unsafe-inline'; img-src data:" }),
      page.viewport === true ? el("meta", { name: "viewport", content: "width=device-width, initial-scale=1" }) : null,
      el("title", {}, page.title),
      el("style", {}, raw(page.style))
    ),
    el("body", {}, body)
  ).html +
  "\n"
