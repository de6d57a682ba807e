/**
 * HTML e-mail parts reduced to plain text: scripts, styles, comments and the head are
 * removed; block elements (p, div, br, li, tr, headings, ...) become line breaks;
 * other tags are dropped; whitespace collapses as a browser would; character
 * references are decoded (HTML Living Standard §13.5, a common subset of the named
 * references plus all numeric ones).
 */

const NAMED: Readonly<Record<string, string>> = {
  amp: "&", lt: "<", gt: ">", quot: "\"", apos: "'", nbsp: " ", copy: "©", reg: "®", trade: "™",
  hellip: "…", mdash: "—", ndash: "–", lsquo: "‘", rsquo: "’", ldquo: "“", rdquo: "”", bull: "•",
  middot: "·", deg: "°", euro: "€", pound: "£", yen: "¥", cent: "¢", sect: "§", para: "¶",
  laquo: "«", raquo: "»", times: "×", divide: "÷", plusmn: "±", frac12: "½", frac14: "¼", frac34: "¾",
  iexcl: "¡", iquest: "¿", eacute: "é", egrave: "è", ecirc: "ê", aacute: "á", agrave: "à", acirc: "â",
  auml: "ä", ouml: "ö", uuml: "ü", Auml: "Ä", Ouml: "Ö", Uuml: "Ü", szlig: "ß", ccedil: "ç", ntilde: "ñ",
  oacute: "ó", uacute: "ú", iacute: "í", shy: ""
}

/** Decodes HTML character references (&amp; &#39; &#x27; and common named ones); unknown ones are kept. */
export const decodeEntities = (s: string): string =>
  s.replace(/&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});?/g, (all, ref: string) => {
    if (ref[0] === "#") {
      const cp = ref[1] === "x" || ref[1] === "X" ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10)
      return cp > 0 && cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff) ? String.fromCodePoint(cp) : "\uFFFD"
    }
    return NAMED[ref] ?? all
  })

const BLOCK = /<\/?(?:p|div|br|li|ul|ol|tr|table|h[1-6]|blockquote|hr|pre|center|dd|dt|dl|form|address|title)\b[^>]*>/gi

/** Plain text of an HTML document or fragment. */
export const htmlToText = (html: string): string => {
  const text = html
    .replace(/<!--[\s\S]*?-->/g, " ")
    .replace(/<(script|style|head)\b[\s\S]*?<\/\1\s*>/gi, " ")
    .replace(/<!DOCTYPE[^>]*>/gi, " ")
    .replace(/\s+/g, " ")
    .replace(BLOCK, "\n")
    .replace(/<[^>]*>/g, "")
  return decodeEntities(text)
    .split("\n")
    .map((l) => l.replace(/[ \t\u00a0]+/g, " ").trim())
    .join("\n")
    .replace(/\n{3,}/g, "\n\n")
    .trim()
}
