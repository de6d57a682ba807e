/**
 * The packed training sequences of a stage's input, read into one flat Int32Array (row i at
 * offset i * seqLen), the layout the trainer's samplers index. Every stage that trains
 * (dp-train, the baseline, the dp-tune sweep, the one-run audit) reads its data here, so
 * each refuses an empty table and sequences of unequal length with the same message.
 */
import { Effect, Stream } from "effect"
import { StageFailed } from "@dpipe/dsl"

const fail = (message: string) => new StageFailed({ message })

/** A table input that can be streamed in batches of rows with a `tokens` column. */
export interface SequencesInput {
  readonly numRows: number
  readonly batches: () => Stream.Stream<ReadonlyArray<{ readonly tokens: Int32Array }>, { readonly message: string }>
}

/** The flat tokens, the sequence length and the number of sequences. */
export interface LoadedSequences {
  readonly tokens: Int32Array
  readonly seqLen: number
  readonly count: number
}

/** Reads the packed sequences into one flat Int32Array; fails on an empty table or unequal lengths. */
export const loadSequences = (input: SequencesInput): Effect.Effect<LoadedSequences, StageFailed> =>
  Effect.gen(function* () {
    let seqLen = -1
    let count = 0
    let tokens = new Int32Array(0)
    yield* input.batches().pipe(
      Stream.runForEach((rows) =>
        Effect.gen(function* () {
          for (const r of rows) {
            if (seqLen < 0) {
              seqLen = r.tokens.length
              tokens = new Int32Array(seqLen * input.numRows)
            }
            if (r.tokens.length !== seqLen) return yield* fail(`sequence ${count} has ${r.tokens.length} tokens, expected ${seqLen}: training needs packed sequences of one length`)
            tokens.set(r.tokens, count * seqLen)
            count++
          }
        })
      ),
      Effect.mapError((e) => (e instanceof StageFailed ? e : fail(`reading sequences: ${e.message}`)))
    )
    if (count === 0) return yield* fail("the sequences table is empty: nothing to train on")
    return { tokens, seqLen, count }
  })
