/**
 * Exact-duplicate removal by content hash: a text is new if its SHA-256 has not been
 * seen. Memory is one 44-character base64 digest per distinct text,
 * so tens of millions of documents fit.
 */
import { createHash } from "node:crypto"

/** Remembers the texts seen so far. */
export class Deduper {
  private readonly seen = new Set<string>()

  /** True the first time a text is offered, false for every exact repeat. */
  isNew(text: string): boolean {
    const h = createHash("sha256").update(text).digest("base64")
    if (this.seen.has(h)) return false
    this.seen.add(h)
    return true
  }

  /** Number of distinct texts seen. */
  get size(): number {
    return this.seen.size
  }
}
