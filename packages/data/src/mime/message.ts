/**
 * One RFC 5322 / MIME message (RFC 2045-2047) to its Subject and body text:
 *   - multipart/alternative: the text/plain part, else the HTML part reduced to text;
 *   - other multipart/*: the inline text parts in order, joined by blank lines;
 *   - quoted-printable and base64 parts decoded in their charset;
 *   - attachments (Content-Disposition: attachment, non-text types, attached
 *     message/rfc822) dropped.
 * Returns the reason instead when the message is malformed.
 */
import { parseStructured } from "@dpipe/data/mime/content-type"
import { decodeCharset } from "@dpipe/data/mime/charset"
import { decodeEncodedWords, header, parseHeaders, splitHeaderBody, type HeaderFields } from "@dpipe/data/mime/headers"
import { htmlToText } from "@dpipe/data/mime/html"
import { decodeBase64, decodeQuotedPrintable } from "@dpipe/data/mime/transfer-encoding"

/** Why a message was skipped. */
export type MalformedReason = "no-headers" | "no-from" | "no-text" | "bad-multipart"

/** A parsed message, or the reason it is malformed. */
export type ParsedMessage =
  | { readonly ok: true; readonly from: string; readonly subject: string; readonly body: string }
  | { readonly ok: false; readonly reason: MalformedReason }

class Malformed {
  readonly reason: MalformedReason
  constructor(reason: MalformedReason) {
    this.reason = reason
  }
}

const MAX_DEPTH = 8

const decodePart = (fields: HeaderFields, body: string, charset: string | undefined): string => {
  const cte = (header(fields, "content-transfer-encoding") ?? "").trim().toLowerCase()
  if (cte === "quoted-printable") return decodeCharset(decodeQuotedPrintable(body), charset)
  if (cte === "base64") return decodeCharset(decodeBase64(body), charset)
  return body
}

/** Splits a multipart body at its boundary lines; preamble and epilogue are dropped. */
const splitMultipart = (body: string, boundary: string): Array<string> => {
  const delimiter = "--" + boundary
  const parts: Array<string> = []
  let current: Array<string> | undefined
  for (const line of body.split(/\r?\n/)) {
    if (line.startsWith(delimiter)) {
      const rest = line.slice(delimiter.length)
      if (rest.trim() === "") {
        if (current !== undefined) parts.push(current.join("\n"))
        current = []
        continue
      }
      if (rest.startsWith("--") && rest.slice(2).trim() === "") {
        if (current !== undefined) parts.push(current.join("\n"))
        return parts
      }
    }
    current?.push(line)
  }
  if (current !== undefined) parts.push(current.join("\n")) // missing close delimiter: keep what we have
  return parts
}

/** The text of an entity (message or part), "" if it carries none. */
const entityText = (fields: HeaderFields, body: string, depth: number): string => {
  const ct = parseStructured(header(fields, "content-type") ?? "text/plain")
  const type = ct.value === "" ? "text/plain" : ct.value
  const disposition = parseStructured(header(fields, "content-disposition") ?? "").value
  if (disposition === "attachment") return ""
  if (type.startsWith("multipart/")) {
    const boundary = ct.params.get("boundary")
    if (boundary === undefined || boundary === "" || depth >= MAX_DEPTH) throw new Malformed("bad-multipart")
    const parts = splitMultipart(body, boundary).map((p) => {
      const { head, body: b } = /^\r?\n/.test(p) ? { head: "", body: p.replace(/^\r?\n/, "") } : splitHeaderBody(p)
      const f = parseHeaders(head)
      const pt = parseStructured(header(f, "content-type") ?? "text/plain").value || "text/plain"
      return { type: pt, text: () => entityText(f, b, depth + 1) }
    })
    if (parts.length === 0) throw new Malformed("bad-multipart")
    if (type === "multipart/alternative") {
      for (const want of ["text/plain", "text/html"]) {
        for (const p of parts) {
          if (p.type !== want) continue
          const t = p.text()
          if (t.trim() !== "") return t
        }
      }
      for (const p of parts) {
        const t = p.type.startsWith("multipart/") ? p.text() : ""
        if (t.trim() !== "") return t
      }
      return ""
    }
    return parts.map((p) => p.text()).filter((t) => t.trim() !== "").join("\n\n")
  }
  if (type === "text/plain" || type === "text") return decodePart(fields, body, ct.params.get("charset"))
  if (type === "text/html") return htmlToText(decodePart(fields, body, ct.params.get("charset")))
  return ""
}

const normalizeNewlines = (s: string): string => s.replace(/\r\n?/g, "\n")

/** Parses one raw message into its From value (RFC 2047-decoded), Subject and body text. */
export const parseMessage = (raw: string): ParsedMessage => {
  const { head, body } = splitHeaderBody(raw)
  const fields = parseHeaders(head)
  if (fields.length === 0) return { ok: false, reason: "no-headers" }
  const from = header(fields, "from")
  if (from === undefined || from.trim() === "") return { ok: false, reason: "no-from" }
  try {
    const text = normalizeNewlines(entityText(fields, body, 0)).replace(/[ \t]+$/gm, "").trim()
    const subject = decodeEncodedWords(header(fields, "subject") ?? "").replace(/\s+/g, " ").trim()
    if (text === "" && subject === "") return { ok: false, reason: "no-text" }
    return { ok: true, from: decodeEncodedWords(from), subject, body: text }
  } catch (e) {
    if (e instanceof Malformed) return { ok: false, reason: e.reason }
    throw e
  }
}
