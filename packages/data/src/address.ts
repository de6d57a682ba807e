/**
 * The sender of a message as a pseudonymous user id: the addr-spec of the From field
 * (RFC 5322 §3.4: "Name <addr>", "addr (Name)" or a bare addr), lower-cased, hashed
 * with SHA-256 under a fixed domain tag. The id is pseudonymous, not anonymous (an
 * address can be hashed and compared), so the tables that carry it stay private.
 */
import { createHash } from "node:crypto"

/** The normalized (trimmed, lower-cased) address of a From value, or undefined if it has none. */
export const normalizeAddress = (from: string): string | undefined => {
  const angle = /<([^<>\s]+@[^<>\s]+)>/.exec(from)
  if (angle !== null) return (angle[1] as string).toLowerCase()
  const bare = from.replace(/\([^()]*\)/g, " ").replace(/"[^"]*"/g, " ")
  const m = /([^\s<>,;:"()]+@[^\s<>,;:"()]+)/.exec(bare)
  return m === null ? undefined : (m[1] as string).toLowerCase().replace(/\.$/, "")
}

/** A stable user id for an identity string: "u" + 16 hex digits of SHA-256("dpipe/user/v1\0" + s). */
export const userIdOf = (identity: string): string =>
  "u" + createHash("sha256").update("dpipe/user/v1\u0000").update(identity).digest("hex").slice(0, 16)
