/**
 * User-level train/eval split: every document of a user goes to the same side, so
 * no eval user appears in train (evaluation measures generalization to unseen
 * users, and the eval set can serve membership tests). A user is in eval when
 * u(user) < evalFraction, with u = the first 53 bits of HMAC-SHA256(seed, user_id)
 * as a number in [0, 1) (RFC 2104): deterministic from the seed, independent across
 * users, and streamable (no pass over the corpus first). The eval share is
 * evalFraction in expectation, not exactly.
 */
import { createHmac } from "node:crypto"
import { Schema } from "effect"
import { DataConfigError } from "@dpipe/data/errors"
import type { Document } from "@dpipe/data/schema"

/** Split settings: the run seed and the expected share of users held out. */
export const SplitConfig = Schema.Struct({
  seed: Schema.Union([Schema.String, Schema.Number]),
  evalFraction: Schema.Finite
})
export type SplitConfig = typeof SplitConfig.Type

/** The side of a split. */
export type SplitSide = "train" | "eval"

const check = (config: SplitConfig): void => {
  if (!(config.evalFraction >= 0 && config.evalFraction <= 1)) {
    throw new DataConfigError({ message: `split: evalFraction must be in [0, 1], got ${config.evalFraction}. A typical value is 0.05.` })
  }
}

/** The uniform number in [0, 1) of a user under a seed. */
export const userUniform = (userId: string, seed: string | number): number => {
  const d = createHmac("sha256", `dpipe/split/v1:${String(seed)}`).update(userId).digest()
  return (d.readUInt32BE(0) * 2097152 + (d.readUInt32BE(4) >>> 11)) / 9007199254740992
}

/** The side of one user. @throws DataConfigError for an evalFraction outside [0, 1] */
export const userSplit = (userId: string, config: SplitConfig): SplitSide => {
  check(config)
  return userUniform(userId, config.seed) < config.evalFraction ? "eval" : "train"
}

/** The documents of one side, streamed. @throws DataConfigError for an evalFraction outside [0, 1] */
export function* splitDocuments(docs: Iterable<Document>, config: SplitConfig, side: SplitSide): Generator<Document> {
  check(config)
  const memo = new Map<string, SplitSide>()
  for (const d of docs) {
    let s = memo.get(d.user_id)
    if (s === undefined) {
      s = userUniform(d.user_id, config.seed) < config.evalFraction ? "eval" : "train"
      memo.set(d.user_id, s)
    }
    if (s === side) yield d
  }
}
