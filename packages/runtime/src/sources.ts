/**
 * Content hashes of a stage's external sources (files or folders outside the store,
 * such as a user's JSONL corpus), which enter the stage key as inputs named
 * `source:<path>`: edit the file and the stage runs again. A folder hashes to the
 * sorted list of its files' relative paths and content hashes. A missing path hashes
 * to "missing", so the stage itself reports the problem with its own message.
 */
import { createHash } from "node:crypto"
import { readdir, stat } from "node:fs/promises"
import { join, relative, resolve } from "node:path"
import { hashFile } from "./codecs/hash.ts"

const hashPath = async (path: string): Promise<string> => {
  let st
  try {
    st = await stat(path)
  } catch {
    return "missing"
  }
  if (st.isFile()) return hashFile(path)
  if (!st.isDirectory()) return "unsupported"
  const h = createHash("sha256")
  const walk = async (dir: string): Promise<void> => {
    for (const name of (await readdir(dir)).sort()) {
      const p = join(dir, name)
      const s = await stat(p)
      if (s.isDirectory()) await walk(p)
      else if (s.isFile()) h.update(`${relative(path, p)}\u0000${await hashFile(p)}\n`)
    }
  }
  await walk(path)
  return h.digest("hex")
}

/** `source:<absolute path>` -> content hash, for a node's declared sources. */
export const sourceHashes = async (sources: ReadonlyArray<string>): Promise<Record<string, string>> => {
  const out: Record<string, string> = {}
  for (const s of sources) out[`source:${resolve(s)}`] = await hashPath(resolve(s))
  return out
}
