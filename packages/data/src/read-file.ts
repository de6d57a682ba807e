/**
 * Reading an input file with typed errors: a missing file is CorpusNotFoundError, any
 * other failure CorpusReadError, each saying which file and what to do.
 */
import { readFileSync, statSync } from "node:fs"
import { CorpusNotFoundError, CorpusReadError } from "@dpipe/data/errors"

/** True when the error is "no such file or directory". */
const isMissing = (e: unknown): boolean => typeof e === "object" && e !== null && (e as { code?: unknown }).code === "ENOENT"

/** Reads a UTF-8 text file. @throws CorpusNotFoundError | CorpusReadError */
export const readTextFile = (path: string, what: string): string => {
  try {
    return readFileSync(path, "utf8")
  } catch (e) {
    if (isMissing(e)) throw new CorpusNotFoundError({ path, message: `${what}: file ${path} does not exist. Check the path (and that the package or data folder is complete).` })
    throw new CorpusReadError({ path, message: `${what}: cannot read ${path}: ${String(e)}. Check file permissions.` })
  }
}

/** Reads and parses a JSON file. @throws CorpusNotFoundError | CorpusReadError */
export const readJsonFile = (path: string, what: string): unknown => {
  const text = readTextFile(path, what)
  try {
    return JSON.parse(text)
  } catch (e) {
    throw new CorpusReadError({ path, message: `${what}: ${path} is not valid JSON (${String(e)}). The file may be truncated; reinstall the package or regenerate the file.` })
  }
}

/** Throws CorpusNotFoundError unless `path` is an existing folder. */
export const requireDirectory = (path: string, what: string): void => {
  let ok = false
  try {
    ok = statSync(path).isDirectory()
  } catch {
    ok = false
  }
  if (!ok) throw new CorpusNotFoundError({ path, message: `${what}: folder ${path} does not exist. Check the path.` })
}
