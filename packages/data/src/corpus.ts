/**
 * Mail messages to `documents` rows: parse each message, keep "Subject\n\nbody",
 * derive user_id from the hashed From address, drop exact duplicate texts, and count
 * and skip malformed messages. Streams: one message in, at most one document out.
 */
import { normalizeAddress, userIdOf } from "@dpipe/data/address"
import { Deduper } from "@dpipe/data/dedupe"
import { parseMessage } from "@dpipe/data/mime/message"
import { countMalformed, type Document, type LoadStats, type RawMessage, utf8Length } from "@dpipe/data/schema"

/** The document text of a message: the Subject line, a blank line, the body. */
export const documentText = (subject: string, body: string): string =>
  subject === "" ? body : body === "" ? subject : `${subject}\n\n${body}`

/**
 * Documents of a stream of raw messages. `stats` is updated as the stream is consumed
 * (read, kept, duplicates, malformed by reason: "no-headers", "no-from", "no-text",
 * "bad-multipart", "no-address").
 */
export function* messagesToDocuments(messages: Iterable<RawMessage>, stats: LoadStats): Generator<Document> {
  const dedupe = new Deduper()
  for (const m of messages) {
    stats.read++
    const parsed = parseMessage(m.text)
    if (!parsed.ok) {
      countMalformed(stats, parsed.reason, `message ${m.id}: ${parsed.reason}`)
      continue
    }
    const address = normalizeAddress(parsed.from)
    if (address === undefined) {
      countMalformed(stats, "no-address", `message ${m.id}: no e-mail address in From`)
      continue
    }
    const text = documentText(parsed.subject, parsed.body)
    if (!dedupe.isNew(text)) {
      stats.duplicates++
      continue
    }
    stats.kept++
    yield { doc_id: m.id, user_id: userIdOf(address), text, bytes: utf8Length(text) }
  }
}
