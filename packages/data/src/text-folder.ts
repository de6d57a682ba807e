/**
 * Generic loader for users' own data: a folder of .txt files, one document per file
 * (searched recursively, in sorted path order). The user of a file is configurable:
 * "file" (each file its own user), or "directory" (the first-level subfolder, e.g.
 * corpus/<user>/<doc>.txt). Empty files are counted as malformed; exact duplicate
 * texts are dropped; user values are hashed unless hashUsers is false.
 */
import { readdirSync } from "node:fs"
import { join, relative, sep } from "node:path"
import { Schema } from "effect"
import { userIdOf } from "@dpipe/data/address"
import { Deduper } from "@dpipe/data/dedupe"
import { readTextFile, requireDirectory } from "@dpipe/data/read-file"
import { countMalformed, type Document, type LoadStats, utf8Length } from "@dpipe/data/schema"

/** Settings of the text-folder loader. */
export const TextFolderOptions = Schema.Struct({
  /** Where the user comes from (default "file"). */
  user: Schema.optionalKey(Schema.Literals(["file", "directory"])),
  /** File extension to load (default ".txt"). */
  extension: Schema.optionalKey(Schema.String),
  /** Hash user values into pseudonymous ids (default true). */
  hashUsers: Schema.optionalKey(Schema.Boolean)
})
export type TextFolderOptions = typeof TextFolderOptions.Type

const listFiles = (root: string, ext: string): Array<string> => {
  const out: Array<string> = []
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name)
      if (e.isDirectory()) walk(p)
      else if (e.isFile() && e.name.endsWith(ext)) out.push(p)
    }
  }
  walk(root)
  return out.sort()
}

/**
 * Documents of a folder of text files; doc_id is the relative path. Updates `stats`
 * (malformed reasons: "empty", "no-directory" for a top-level file in "directory" mode).
 *
 * @throws CorpusNotFoundError (missing folder) | CorpusReadError (unreadable file)
 */
export function* loadTextFolder(root: string, options: TextFolderOptions, stats: LoadStats): Generator<Document> {
  requireDirectory(root, "text-folder loader")
  const dedupe = new Deduper()
  for (const path of listFiles(root, options.extension ?? ".txt")) {
    stats.read++
    const rel = relative(root, path).split(sep).join("/")
    const text = readTextFile(path, "text-folder loader")
    if (text.trim() === "") {
      countMalformed(stats, "empty", `${path}: empty or whitespace only`)
      continue
    }
    let user = rel
    if (options.user === "directory") {
      const slash = rel.indexOf("/")
      if (slash < 0) {
        countMalformed(stats, "no-directory", `${path}: a file at the top level, but users are subfolders (users "directory")`)
        continue
      }
      user = rel.slice(0, slash)
    }
    if (!dedupe.isNew(text)) {
      stats.duplicates++
      continue
    }
    stats.kept++
    yield { doc_id: rel, user_id: options.hashUsers === false ? user : userIdOf(user), text, bytes: utf8Length(text) }
  }
}
