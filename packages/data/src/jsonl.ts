/**
 * Generic loader for users' own data: a JSONL file (one JSON object per line) with
 * configurable text, user and id columns. Lines that are not JSON objects or lack a
 * string text are counted as malformed and skipped; exact duplicate texts are dropped.
 * Without a user column each document is its own user. User values are hashed into
 * pseudonymous ids (as for e-mail) unless hashUsers is false.
 */
import { Schema } from "effect"
import { userIdOf } from "@dpipe/data/address"
import { Deduper } from "@dpipe/data/dedupe"
import { readLines } from "@dpipe/data/lines"
import { countMalformed, type Document, type LoadStats, utf8Length } from "@dpipe/data/schema"

/** Column settings of the JSONL loader. */
export const JsonlOptions = Schema.Struct({
  /** Field holding the text (default "text"). */
  textColumn: Schema.optionalKey(Schema.String),
  /** Field holding the user (default: none, one user per document). */
  userColumn: Schema.optionalKey(Schema.String),
  /** Field holding the document id (default: "<file name>:<line number>"). */
  idColumn: Schema.optionalKey(Schema.String),
  /** Hash user values into pseudonymous ids (default true). */
  hashUsers: Schema.optionalKey(Schema.Boolean)
})
export type JsonlOptions = typeof JsonlOptions.Type

const scalar = (v: unknown): string | undefined =>
  typeof v === "string" ? v : typeof v === "number" || typeof v === "bigint" ? String(v) : undefined

/**
 * Documents of a JSONL file, streamed; updates `stats` (malformed reasons: "not-json",
 * "not-object", "no-text", "no-user", each with the file and line of its first record
 * in `stats.firstMalformed`). Blank lines are not records; every other line is counted
 * once as kept, duplicate or malformed.
 *
 * @throws CorpusNotFoundError | CorpusReadError
 */
export function* loadJsonl(path: string, options: JsonlOptions, stats: LoadStats): Generator<Document> {
  const textColumn = options.textColumn ?? "text"
  const name = path.split("/").pop() ?? path
  const dedupe = new Deduper()
  let lineNo = 0
  for (const line of readLines(path, "JSONL loader")) {
    lineNo++
    if (line.trim() === "") continue
    stats.read++
    const at = `${path} line ${lineNo}`
    let row: unknown
    try {
      row = JSON.parse(line)
    } catch (e) {
      countMalformed(stats, "not-json", `${at}: not valid JSON (${e instanceof Error ? e.message : String(e)})`)
      continue
    }
    if (typeof row !== "object" || row === null || Array.isArray(row)) {
      countMalformed(stats, "not-object", `${at}: a JSON ${Array.isArray(row) ? "array" : row === null ? "null" : typeof row}, not an object`)
      continue
    }
    const rec = row as Record<string, unknown>
    const text = rec[textColumn]
    if (typeof text !== "string" || text.trim() === "") {
      const fields = Object.keys(rec).slice(0, 8).join(", ")
      countMalformed(stats, "no-text", `${at}: ${text === undefined ? `no field "${textColumn}" (fields: ${fields || "none"})` : `field "${textColumn}" is ${typeof text === "string" ? "empty" : `a ${typeof text}, not a string`}`}`)
      continue
    }
    const docId = (options.idColumn !== undefined ? scalar(rec[options.idColumn]) : undefined) ?? `${name}:${lineNo}`
    let user = docId
    if (options.userColumn !== undefined) {
      const u = scalar(rec[options.userColumn])
      if (u === undefined) {
        countMalformed(stats, "no-user", `${at}: no string or number in the user field "${options.userColumn}"`)
        continue
      }
      user = u
    }
    if (!dedupe.isNew(text)) {
      stats.duplicates++
      continue
    }
    stats.kept++
    yield { doc_id: docId, user_id: options.hashUsers === false ? user : userIdOf(user), text, bytes: utf8Length(text) }
  }
}
