/**
 * RFC 5322 (formerly RFC 822) header blocks: splitting a message into header block and
 * body, unfolding continuation lines (RFC 5322 §2.2.3), and decoding RFC 2047
 * encoded words ("=?charset?Q?...?=" / "=?charset?B?...?=").
 */
import { decodeCharset } from "@dpipe/data/mime/charset"

/** Header fields in order, names lower-cased. */
export type HeaderFields = ReadonlyArray<readonly [string, string]>

/** The first value of a header field, or undefined. */
export const header = (fields: HeaderFields, name: string): string | undefined => {
  for (const [n, v] of fields) if (n === name) return v
  return undefined
}

/** Splits at the first empty line. A message with no empty line is all headers. */
export const splitHeaderBody = (raw: string): { readonly head: string; readonly body: string } => {
  const m = /\r?\n\r?\n/.exec(raw)
  if (m === null) return { head: raw, body: "" }
  return { head: raw.slice(0, m.index), body: raw.slice(m.index + m[0].length) }
}

/**
 * Parses a header block. The mbox "From " envelope line is skipped; lines that are
 * neither fields nor continuations are ignored.
 */
export const parseHeaders = (head: string): HeaderFields => {
  const fields: Array<[string, string]> = []
  for (const line of head.split(/\r?\n/)) {
    if (line.length === 0) continue
    if (line[0] === " " || line[0] === "\t") {
      const last = fields[fields.length - 1]
      if (last !== undefined) last[1] += " " + line.trim()
      continue
    }
    const colon = line.indexOf(":")
    if (colon <= 0 || /\s/.test(line.slice(0, colon))) continue
    fields.push([line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim()])
  }
  return fields
}

const ENCODED_WORD = /=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=/g

const qWordBytes = (s: string): Uint8Array => {
  const out: Array<number> = []
  for (let i = 0; i < s.length; i++) {
    const c = s[i] as string
    if (c === "_") out.push(0x20)
    else if (c === "=" && /^[0-9A-Fa-f]{2}$/.test(s.slice(i + 1, i + 3))) {
      out.push(parseInt(s.slice(i + 1, i + 3), 16))
      i += 2
    } else out.push(c.charCodeAt(0) & 0xff)
  }
  return Uint8Array.from(out)
}

/** Decodes RFC 2047 encoded words; whitespace between adjacent encoded words is dropped. */
export const decodeEncodedWords = (value: string): string =>
  value
    .replace(/(=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=)\s+(?==\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=)/g, "$1")
    .replace(ENCODED_WORD, (_all, charset: string, enc: string, text: string) => {
      const bytes = enc.toUpperCase() === "B" ? new Uint8Array(Buffer.from(text, "base64")) : qWordBytes(text)
      return decodeCharset(bytes, charset.replace(/\*.*$/, ""))
    })
