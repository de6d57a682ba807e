/**
 * Content-Transfer-Encoding decoders (RFC 2045 §6): quoted-printable (§6.7) and
 * base64 (§6.8). 7bit/8bit/binary bodies are used as they are.
 */

/** Decodes quoted-printable text to bytes: "=XX" escapes, "=" soft line breaks; malformed escapes kept literally. */
export const decodeQuotedPrintable = (s: string): Uint8Array => {
  const out = new Uint8Array(s.length * 3)
  let o = 0
  const hex = (c: number): number =>
    c >= 48 && c <= 57 ? c - 48 : c >= 65 && c <= 70 ? c - 55 : c >= 97 && c <= 102 ? c - 87 : -1
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c === 61 /* = */) {
      // soft line break: "=" then optional trailing blanks then CRLF/LF
      let j = i + 1
      while (j < s.length && (s[j] === " " || s[j] === "\t")) j++
      if (s[j] === "\r" && s[j + 1] === "\n") {
        i = j + 1
        continue
      }
      if (s[j] === "\n") {
        i = j
        continue
      }
      if (j >= s.length) break
      const h = hex(s.charCodeAt(i + 1)), l = hex(s.charCodeAt(i + 2))
      if (h >= 0 && l >= 0) {
        out[o++] = h * 16 + l
        i += 2
        continue
      }
      out[o++] = c
    } else if (c < 0x80) out[o++] = c
    else {
      const enc = Buffer.from(String.fromCodePoint(s.codePointAt(i) as number), "utf8")
      out.set(enc, o)
      o += enc.length
      if (c >= 0xd800 && c <= 0xdbff) i++
    }
  }
  return out.subarray(0, o)
}

/** Decodes base64 text to bytes, ignoring line breaks and other non-alphabet characters. */
export const decodeBase64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/[^A-Za-z0-9+/]/g, ""), "base64"))
