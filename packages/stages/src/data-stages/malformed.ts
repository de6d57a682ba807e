/**
 * What the corpus stage does with malformed records: it counts every one (by reason,
 * keeping where the first of each reason was found), tells the terminal how many it
 * skipped, and fails as soon as the load ends when nothing usable was read or when the
 * malformed share is above the stage's `maxMalformedShare` (default 1%: a file that is
 * not JSONL at all, or a wrong `textColumn`, stops here and not two stages later).
 */
import type { Document, LoadStats } from "@dpipe/data/schema"

/** The default largest share of malformed records a corpus load accepts. */
export const DEFAULT_MAX_MALFORMED_SHARE = 0.01

/** A load whose first this-many records are all malformed stops there (unless every malformed record may be skipped). */
export const EARLY_FAILURE_RECORDS = 1000

export interface MalformedPolicy {
  /** What was read, for messages: "jsonl mail.jsonl". */
  readonly source: string
  /** 0..1; 1 skips every malformed record. */
  readonly maxMalformedShare: number
}

const percent = (x: number): string => `${(100 * x).toFixed(x < 0.1 ? 1 : 0)}%`

/** "not-json 3 (first: mail.jsonl line 2: not valid JSON ...), no-text 1 (first: ...)". */
const reasons = (stats: LoadStats): string =>
  Object.entries(stats.malformedByReason)
    .sort(([, a], [, b]) => b - a)
    .map(([reason, n]) => `${reason} ${n}${stats.firstMalformed[reason] !== undefined ? ` (first: ${stats.firstMalformed[reason]})` : ""}`)
    .join("; ")

/** The terminal line after a load that skipped records, or undefined when nothing was skipped. */
export const skippedSummary = (stats: LoadStats): string | undefined => {
  const parts: Array<string> = []
  if (stats.malformed > 0) parts.push(`skipped ${stats.malformed} of ${stats.read} records as malformed: ${reasons(stats)}`)
  if (stats.duplicates > 0) parts.push(`dropped ${stats.duplicates} exact duplicate${stats.duplicates === 1 ? "" : "s"}`)
  return parts.length === 0 ? undefined : `${parts.join("; ")}; kept ${stats.kept}`
}

/** Why a finished load must fail, or undefined when it may go on. */
export const loadRefusal = (stats: LoadStats, policy: MalformedPolicy): string | undefined => {
  if (stats.read === 0) {
    return `corpus: ${policy.source} holds no records (an empty file or folder). Point corpus.path at your data.`
  }
  if (stats.kept === 0) {
    return `corpus: no usable record in ${policy.source}: all ${stats.read} records read are malformed (${reasons(stats)}). ` +
      "Check that corpus.path is a JSONL file (one JSON object per line) or a folder of text files, and that corpus.textColumn names the text field."
  }
  const share = stats.malformed / stats.read
  if (share > policy.maxMalformedShare) {
    return `corpus: ${stats.malformed} of ${stats.read} records (${percent(share)}) in ${policy.source} are malformed, more than ` +
      `corpus.maxMalformedShare (${percent(policy.maxMalformedShare)}): ${reasons(stats)}. Fix the input, or accept skipping them with ` +
      `--set corpus.maxMalformedShare=${Math.min(1, Math.ceil(share * 100) / 100)} (1 skips every malformed record).`
  }
  return undefined
}

/**
 * Stops a load at once (throws) when its first EARLY_FAILURE_RECORDS records are all
 * malformed: a large file that is not what the stage expects fails in moments, not after
 * being read to the end. Install it as `stats.onMalformed`.
 */
export const stopEarly = (policy: MalformedPolicy) => (stats: LoadStats): void => {
  if (policy.maxMalformedShare < 1 && stats.kept === 0 && stats.duplicates === 0 && stats.malformed >= EARLY_FAILURE_RECORDS) {
    throw new Error(`corpus: the first ${stats.malformed} records of ${policy.source} are all malformed, so the load stopped there (${reasons(stats)}). ` +
      "Check that corpus.path is a JSONL file (one JSON object per line) or a folder of text files, and that corpus.textColumn names the text field.")
  }
}

/**
 * The documents of a load, then a check of its counts: throws (the stage fails with the
 * message) when `loadRefusal` refuses the load. Nothing is written by a failed stage.
 */
export function* checkedLoad(docs: Iterable<Document>, stats: LoadStats, policy: MalformedPolicy): Generator<Document> {
  yield* docs
  const refusal = loadRefusal(stats, policy)
  if (refusal !== undefined) throw new Error(refusal)
}
