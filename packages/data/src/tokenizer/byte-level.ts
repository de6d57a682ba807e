/**
 * The GPT-2 byte-to-unicode table (Radford et al. 2019, openai/gpt-2 encoder.py
 * `bytes_to_unicode`; HF tokenizers `ByteLevel`): each of the 256 byte values maps to
 * one printable Unicode character, so a byte string can be written as a text token in
 * tokenizer.json. Printable Latin-1 bytes map to themselves; the 68 others map to
 * U+0100.. in byte order.
 */

const build = (): { readonly toChar: ReadonlyArray<string>; readonly toByte: ReadonlyMap<string, number> } => {
  const printable = (b: number): boolean =>
    (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff)
  const toChar: Array<string> = new Array(256)
  let extra = 0
  for (let b = 0; b < 256; b++) {
    toChar[b] = String.fromCodePoint(printable(b) ? b : 256 + extra++)
  }
  const toByte = new Map<string, number>()
  toChar.forEach((c, b) => toByte.set(c, b))
  return { toChar, toByte }
}

const table = build()

/** The character standing for byte b (0..255). */
export const byteToChar: ReadonlyArray<string> = table.toChar

/** The byte a byte-level character stands for, or undefined. */
export const charToByte: ReadonlyMap<string, number> = table.toByte

/** Writes bytes as a byte-level token string. */
export const bytesToToken = (bytes: Uint8Array): string => {
  let s = ""
  for (const b of bytes) s += byteToChar[b] as string
  return s
}

/** Reads a byte-level token string back to bytes; undefined if a character is not in the table. */
export const tokenToBytes = (token: string): Uint8Array | undefined => {
  const out: Array<number> = []
  for (const c of token) {
    const b = charToByte.get(c)
    if (b === undefined) return undefined
    out.push(b)
  }
  return Uint8Array.from(out)
}
