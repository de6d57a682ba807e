/**
 * Streaming line reader over a file, in 1 MiB chunks with incremental UTF-8
 * decoding, so large JSONL files never sit in memory whole.
 */
import { closeSync, openSync, readSync } from "node:fs"
import { CorpusNotFoundError, CorpusReadError } from "@dpipe/data/errors"

const CHUNK = 1 << 20

/**
 * The lines of a UTF-8 text file (without "\n" / "\r\n"), lazily.
 *
 * @throws CorpusNotFoundError | CorpusReadError
 */
export function* readLines(path: string, what: string): Generator<string> {
  let fd: number
  try {
    fd = openSync(path, "r")
  } catch (e) {
    if ((e as { code?: unknown }).code === "ENOENT") {
      throw new CorpusNotFoundError({ path, message: `${what}: file ${path} does not exist. Check the path.` })
    }
    throw new CorpusReadError({ path, message: `${what}: cannot open ${path}: ${String(e)}. Check file permissions.` })
  }
  try {
    const decoder = new TextDecoder("utf-8")
    const buf = new Uint8Array(CHUNK)
    let rest = ""
    for (;;) {
      let n: number
      try {
        n = readSync(fd, buf, 0, CHUNK, null)
      } catch (e) {
        throw new CorpusReadError({ path, message: `${what}: cannot read ${path}: ${String(e)}.` })
      }
      rest += n === 0 ? decoder.decode() : decoder.decode(buf.subarray(0, n), { stream: true })
      const parts = rest.split("\n")
      rest = parts.pop() ?? ""
      for (const p of parts) yield p.endsWith("\r") ? p.slice(0, -1) : p
      if (n === 0) break
    }
    if (rest.length > 0) yield rest.endsWith("\r") ? rest.slice(0, -1) : rest
  } finally {
    closeSync(fd)
  }
}
