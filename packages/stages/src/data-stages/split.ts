/**
 * Stage `split`: user-level train/eval split of the documents. A user is in eval when
 * HMAC-SHA256(seed, user_id), read as a number in [0, 1), is below evalFraction
 * (data/split.ts), so every document of a user lands on the same side (no eval user
 * appears in train), the split is a pure function of (seed, user_id), and it streams.
 * The eval share is evalFraction in expectation. Either side empty is an error, found
 * by a first pass over the user ids before anything is written.
 */
import { Effect, Schema, Stream } from "effect"
import { Artifact, Stage, StageFailed } from "@dpipe/dsl"
import { type SplitSide, userUniform } from "@dpipe/data/split"
import { inputFailed } from "./streams.ts"
import { Documents } from "./tables.ts"

export const SplitStageConfig = Schema.Struct({
  /** The split seed: the same seed gives the same split. */
  seed: Schema.Union([Schema.Int, Schema.String]),
  /** Expected share of users held out for evaluation, in (0, 1). */
  evalFraction: Schema.Finite.check(
    Schema.makeFilter((f) => (f > 0 && f < 1 ? undefined : `must be strictly between 0 and 1 (a typical value is 0.05), got ${f}`))
  )
})
export type SplitStageConfig = typeof SplitStageConfig.Type

export const split = Stage.make({
  name: "split",
  version: "1",
  description: "Splits documents into train and eval by user.",
  config: SplitStageConfig,
  inputs: { documents: Artifact.table(Documents) },
  outputs: {
    train_documents: Artifact.table(Documents, { label: "private" }),
    eval_documents: Artifact.table(Documents, { label: "private" })
  },
  run: ({ config, inputs }) =>
    Effect.gen(function* () {
      const memo = new Map<string, SplitSide>()
      const sideOf = (user: string): SplitSide => {
        let s = memo.get(user)
        if (s === undefined) {
          s = userUniform(user, config.seed) < config.evalFraction ? "eval" : "train"
          memo.set(user, s)
        }
        return s
      }
      // A first pass over the users, so that an empty side fails before anything is written.
      const docs = { train: 0, eval: 0 }
      yield* inputs.documents.batches().pipe(
        Stream.mapError(inputFailed("split", "documents")),
        Stream.runForEach((rows) => Effect.sync(() => {
          for (const d of rows) docs[sideOf(d.user_id)]++
        }))
      )
      for (const [wanted, other] of [["train", "eval"], ["eval", "train"]] as const) {
        if (docs[wanted] > 0) continue
        return yield* new StageFailed({
          message: `split: the ${wanted} side is empty: all ${memo.size} users of the ${docs[other]} documents went to ${other} ` +
            `(seed ${JSON.stringify(config.seed)}, evalFraction ${config.evalFraction}). ` +
            (memo.size < 2
              ? "A user-level split needs at least two users: load more data, or give documents distinct users (corpus.userColumn)."
              : `Use more data, ${wanted === "eval" ? "raise" : "lower"} split.evalFraction, or try another split.seed.`)
        })
      }
      const side = (wanted: SplitSide) =>
        inputs.documents.batches().pipe(
          Stream.mapError(inputFailed("split", "documents")),
          Stream.map((rows) => rows.filter((d) => sideOf(d.user_id) === wanted)),
          Stream.flattenIterable
        )
      return { train_documents: side("train"), eval_documents: side("eval") }
    })
})
