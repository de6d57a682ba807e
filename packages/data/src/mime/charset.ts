/**
 * Bytes to text in a MIME charset (RFC 2045 `charset` parameter), via the WHATWG
 * Encoding Standard decoders of Node's TextDecoder. Unknown charsets fall back to
 * windows-1252 (a superset of ISO-8859-1 for printable text); invalid sequences
 * become U+FFFD.
 */

const decoders = new Map<string, InstanceType<typeof TextDecoder>>()

const decoderFor = (charset: string): InstanceType<typeof TextDecoder> => {
  const label = charset.trim().toLowerCase() || "us-ascii"
  let d = decoders.get(label)
  if (d === undefined) {
    try {
      d = new TextDecoder(label)
    } catch {
      d = new TextDecoder("windows-1252")
    }
    decoders.set(label, d)
  }
  return d
}

/** Decodes bytes in the given charset (default us-ascii). */
export const decodeCharset = (bytes: Uint8Array, charset: string | undefined): string =>
  decoderFor(charset ?? "us-ascii").decode(bytes)
