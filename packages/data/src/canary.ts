/**
 * Canaries (Carlini et al. 2019, "The Secret Sharer: Evaluating and Testing
 * Unintended Memorization in Neural Networks"): K synthetic secret sentences of a
 * fixed format, e.g. "my account number is 4827 1937 2212", each inserted r times
 * into training documents. Evaluation ranks each true secret among random
 * candidates of the same format (exposure = log2(|space|) - log2(rank)); this module
 * plans and inserts them and records where each copy went (a PRIVATE artifact: it
 * holds the secrets).
 *
 * All randomness (secrets, target documents, positions) comes from the keyed stream
 * (key, "canary", 0), so a plan is reproducible from the run secret.
 */
import { Schema } from "effect"
import { keyedStream, type KeyedStream } from "@dpipe/random/keyed-random"
import { DataConfigError } from "@dpipe/data/errors"
import { type Document, utf8Length } from "@dpipe/data/schema"

/** The secret format: prefix, then digit groups joined by a separator. */
export const CanaryFormat = Schema.Struct({
  prefix: Schema.String,
  digitGroups: Schema.Array(Schema.Int),
  separator: Schema.String
})
export type CanaryFormat = typeof CanaryFormat.Type

/** "my account number is DDDD DDDD DDDD": 10^12 possible secrets. */
export const DEFAULT_CANARY_FORMAT: CanaryFormat = { prefix: "my account number is ", digitGroups: [4, 4, 4], separator: " " }

/** One inserted copy of a canary: a row of the private `canaries` table. */
export const CanaryRecord = Schema.Struct({
  canary_id: Schema.Int,
  copy: Schema.Int,
  secret: Schema.String,
  sentence: Schema.String,
  doc_id: Schema.String,
  user_id: Schema.String,
  /** UTF-16 offset of the sentence in the document's final text. */
  char_offset: Schema.Int
})
export type CanaryRecord = typeof CanaryRecord.Type

/** The number of possible secrets of a format (10^digits). */
export const secretSpaceSize = (format: CanaryFormat): number => 10 ** format.digitGroups.reduce((a, b) => a + b, 0)

/** The sentence for a secret given as its digits ("482719372212"). */
export const renderCanary = (format: CanaryFormat, digits: string): string => {
  const groups: Array<string> = []
  let i = 0
  for (const g of format.digitGroups) {
    groups.push(digits.slice(i, i + g))
    i += g
  }
  return format.prefix + groups.join(format.separator)
}

const uniformInt = (stream: KeyedStream, n: number): number => Math.floor(stream.uniform() * n)

/** A uniformly random secret (digit string) of the format, e.g. a candidate for exposure ranking. */
export const randomSecret = (format: CanaryFormat, stream: KeyedStream): string => {
  const total = format.digitGroups.reduce((a, b) => a + b, 0)
  let s = ""
  for (let i = 0; i < total; i++) s += String(uniformInt(stream, 10))
  return s
}

/** Where every copy of every canary goes. */
export interface CanaryPlan {
  readonly format: CanaryFormat
  readonly canaries: ReadonlyArray<{ readonly canary_id: number; readonly secret: string; readonly sentence: string }>
  /** One entry per copy: target document index (0-based, in stream order) and relative position in it. */
  readonly placements: ReadonlyArray<{ readonly canary_id: number; readonly copy: number; readonly docIndex: number; readonly position: number }>
}

/** Canary settings. */
export const CanaryConfig = Schema.Struct({
  count: Schema.Int,
  repeats: Schema.Int,
  format: Schema.optionalKey(CanaryFormat)
})
export type CanaryConfig = typeof CanaryConfig.Type

/**
 * Draws K distinct secrets and the target document of each of their r copies among
 * numDocs training documents.
 *
 * @throws DataConfigError for counts that are negative, or canaries without documents
 */
export const planCanaries = (key: Uint8Array, config: CanaryConfig, numDocs: number): CanaryPlan => {
  const format = config.format ?? DEFAULT_CANARY_FORMAT
  if (!Number.isInteger(config.count) || config.count < 0 || !Number.isInteger(config.repeats) || config.repeats < 1) {
    throw new DataConfigError({ message: `canaries: count must be an integer >= 0 and repeats >= 1, got ${config.count} and ${config.repeats}.` })
  }
  if (config.count > 0 && numDocs < 1) {
    throw new DataConfigError({ message: "canaries: there are no training documents to insert canaries into. Disable canaries or check the split." })
  }
  if (config.count > secretSpaceSize(format) / 2) {
    throw new DataConfigError({ message: `canaries: ${config.count} canaries do not fit a format with ${secretSpaceSize(format)} secrets. Use more digits.` })
  }
  const stream = keyedStream(key, "canary", 0)
  const seen = new Set<string>()
  const canaries: Array<{ canary_id: number; secret: string; sentence: string }> = []
  while (canaries.length < config.count) {
    const secret = randomSecret(format, stream)
    if (seen.has(secret)) continue
    seen.add(secret)
    canaries.push({ canary_id: canaries.length, secret, sentence: renderCanary(format, secret) })
  }
  const placements: Array<{ canary_id: number; copy: number; docIndex: number; position: number }> = []
  for (const c of canaries) {
    for (let copy = 0; copy < config.repeats; copy++) {
      placements.push({ canary_id: c.canary_id, copy, docIndex: uniformInt(stream, numDocs), position: stream.uniform() })
    }
  }
  return { format, canaries, placements }
}

/** Index of the end of the line containing position p (or the text end). */
const lineEnd = (text: string, p: number): number => {
  const nl = text.indexOf("\n", p)
  return nl < 0 ? text.length : nl
}

/**
 * Inserts the planned canaries into training documents offered one at a time, in
 * stream order (the n-th call is document index n), so batches of a streamed table
 * can be fed through it. Each copy goes on its own line, at the end of the line at
 * its planned position; `records` gets one entry per inserted copy.
 */
export class CanaryInserter {
  /** One record per inserted copy, in insertion order. */
  readonly records: Array<CanaryRecord> = []
  private readonly byDoc = new Map<number, Array<CanaryPlan["placements"][number]>>()
  private index = 0

  private readonly plan: CanaryPlan

  constructor(plan: CanaryPlan) {
    this.plan = plan
    for (const p of plan.placements) {
      const list = this.byDoc.get(p.docIndex)
      if (list === undefined) this.byDoc.set(p.docIndex, [p])
      else list.push(p)
    }
  }

  /** Number of documents seen so far. */
  get seen(): number {
    return this.index
  }

  /** The next document, with the canaries planned for it inserted. */
  next(doc: Document): Document {
    const here = this.byDoc.get(this.index++)
    if (here === undefined) return doc
    const original = doc.text
    const cuts = here
      .map((p) => ({ p, at: lineEnd(original, Math.floor(p.position * original.length)) }))
      .sort((a, b) => a.at - b.at || a.p.canary_id - b.p.canary_id || a.p.copy - b.p.copy)
    let text = ""
    let last = 0
    for (const { p, at } of cuts) {
      const sentence = this.plan.canaries[p.canary_id]?.sentence ?? ""
      text += original.slice(last, at)
      const sep = text.length === 0 ? "" : "\n"
      this.records.push({
        canary_id: p.canary_id,
        copy: p.copy,
        secret: this.plan.canaries[p.canary_id]?.secret ?? "",
        sentence,
        doc_id: doc.doc_id,
        user_id: doc.user_id,
        char_offset: text.length + sep.length
      })
      text += sep + sentence
      last = at
    }
    text += original.slice(last)
    return { ...doc, text, bytes: utf8Length(text) }
  }
}

/**
 * Streams the training documents with the planned canaries inserted, each as its own
 * line at the end of the line at the planned position. Appends one record per
 * inserted copy to `records`.
 */
export function* insertCanaries(docs: Iterable<Document>, plan: CanaryPlan, records: Array<CanaryRecord>): Generator<Document> {
  const inserter = new CanaryInserter(plan)
  let reported = 0
  for (const doc of docs) {
    const out = inserter.next(doc)
    while (reported < inserter.records.length) records.push(inserter.records[reported++] as CanaryRecord)
    yield out
  }
}
