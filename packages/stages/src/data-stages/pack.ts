/**
 * Stage `pack` (tokenize and pack): encodes the train and eval documents with the
 * tokenizer, appends <eos> to each, and packs the tokens into sequences of exactly
 * seqLen tokens (data/pack.ts), the privacy unit of sequence-level DP-SGD. Streams the
 * documents batch by batch; memory is one sequence buffer (one per user with
 * mode "per-user").
 *
 * Canaries (optional, `canaries.count` > 0): K secret sentences ("my account number is
 * 4827 1937 2212"), each inserted `repeats` times into training documents before
 * encoding (data/canary.ts). The secrets and their places come from the keyed CSPRNG
 * (ctx.secretKey("canaries"), docs/privacy.md, P7): reproducible from the store secret,
 * never logged. The `canaries` table records every copy (canary, secret, document,
 * user, character offset); `canary_info` the format, for the exposure evaluation.
 *
 * Every output is private (its inputs are). Encoding uses dpipe's BpeTokenizer, which
 * never produces special tokens from text (a document containing "<eos>" cannot fake
 * a document boundary).
 */
import { Effect, Schema, Stream } from "effect"
import { Artifact, Progress, Stage, StageFailed } from "@dpipe/dsl"
import { CanaryFormat, CanaryInserter, type CanaryPlan, type CanaryRecord, DEFAULT_CANARY_FORMAT, planCanaries, secretSpaceSize } from "@dpipe/data/canary"
import { SequencePacker } from "@dpipe/data/pack"
import type { Document, Sequence } from "@dpipe/data/schema"
import type { BpeTokenizer } from "@dpipe/data/tokenizer/encoder"
import { tokenizerFromJson } from "@dpipe/data/tokenizer/hf-json"
import { attempt, inputFailed } from "./streams.ts"
import { Canaries, CanaryInfo, Documents, Sequences } from "./tables.ts"

const nonNegativeInt = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))
const positiveInt = Schema.Int.check(Schema.isGreaterThan(0))

export const CanarySettings = Schema.Struct({
  /** Number of distinct canaries (0: none). */
  count: nonNegativeInt.pipe(Schema.withDecodingDefaultKey(Effect.succeed(0))),
  /** Copies of each canary inserted into training documents. */
  repeats: positiveInt.pipe(Schema.withDecodingDefaultKey(Effect.succeed(1))),
  /** The secret format (default "my account number is DDDD DDDD DDDD"). */
  format: Schema.optionalKey(CanaryFormat)
})

export const PackStageConfig = Schema.Struct({
  /** Tokens per sequence (VaultGemma: 1024). */
  seqLen: Schema.Int.check(Schema.makeFilter((n) => (n >= 2 ? undefined : `must be an integer >= 2 (VaultGemma uses 1024), got ${n}`))),
  /** "mixed" (default): users may share a sequence; "per-user": one user per sequence (user-level DP). */
  mode: Schema.Literals(["mixed", "per-user"]).pipe(Schema.withDecodingDefaultKey(Effect.succeed("mixed" as const))),
  /** The last, partial sequence(s): padded with <pad> (default) or dropped. */
  remainder: Schema.Literals(["pad", "drop"]).pipe(Schema.withDecodingDefaultKey(Effect.succeed("pad" as const))),
  canaries: CanarySettings.pipe(Schema.withDecodingDefaultKey(Effect.succeed({})))
})
export type PackStageConfig = typeof PackStageConfig.Type

export const pack = Stage.make({
  name: "pack",
  version: "1",
  description: "Tokenizes the train and eval documents and packs them into fixed-length sequences; inserts canaries.",
  config: PackStageConfig,
  inputs: {
    tokenizer: Artifact.file("tokenizer", "json"),
    train: Artifact.table(Documents),
    eval: Artifact.table(Documents)
  },
  outputs: {
    train_sequences: Artifact.table(Sequences, { label: "private" }),
    eval_sequences: Artifact.table(Sequences, { label: "private" }),
    canaries: Artifact.table(Canaries, { label: "private", description: "where each canary copy went (holds the secrets)" }),
    canary_info: Artifact.json("canary-info", CanaryInfo, { label: "private" })
  },
  run: ({ config, inputs, secretKey }) =>
    Effect.gen(function* () {
      const progress = yield* Progress
      const tok: BpeTokenizer = yield* attempt(() => tokenizerFromJson(new TextDecoder("utf-8", { fatal: true }).decode(inputs.tokenizer))).pipe(
        Effect.mapError((e) => new StageFailed({ message: `pack: the tokenizer input is not a usable tokenizer.json: ${e.message}` }))
      )
      const format = config.canaries.format ?? DEFAULT_CANARY_FORMAT
      const plan: CanaryPlan | undefined = config.canaries.count > 0
        ? yield* attempt(() => planCanaries(secretKey("canaries"), { ...config.canaries, format }, inputs.train.numRows))
        : undefined
      const packConfig = { seqLen: config.seqLen, mode: config.mode, remainder: config.remainder }
      const ids = { eosId: tok.eosId, padId: tok.padId }
      const totalDocs = inputs.train.numRows + inputs.eval.numRows

      let docsDone = 0
      let trainRecords: ReadonlyArray<CanaryRecord> | undefined
      const packed = (input: "train" | "eval", withCanaries: CanaryPlan | undefined, onEnd: (inserter: CanaryInserter | undefined) => void) =>
        Stream.suspend(() => {
          const packer = new SequencePacker(packConfig, ids)
          const inserter = withCanaries !== undefined ? new CanaryInserter(withCanaries) : undefined
          const table = inputs[input]
          return table.batches().pipe(
            Stream.mapError(inputFailed("pack", input)),
            Stream.map((rows: ReadonlyArray<Document>) => {
              const out: Array<Sequence> = []
              for (const row of rows) {
                const doc = inserter !== undefined ? inserter.next(row) : row
                for (const s of packer.push({ user_id: doc.user_id, tokens: tok.encode(doc.text) })) out.push(s)
              }
              docsDone += rows.length
              return out
            }),
            Stream.tap(() => progress.update(docsDone, totalDocs)),
            Stream.flattenIterable,
            Stream.concat(Stream.suspend(() => {
              onEnd(inserter)
              return Stream.fromIterable(packer.flush())
            }))
          )
        })

      // Canary records are filled while train_sequences streams (outputs are written in
      // declaration order); if `canaries` is read first, it makes its own pass.
      const canaryRows = Stream.suspend(() => {
        if (plan === undefined) return Stream.empty
        if (trainRecords !== undefined) return Stream.fromIterable(trainRecords)
        return Stream.unwrap(Effect.gen(function* () {
          const inserter = new CanaryInserter(plan)
          yield* inputs.train.batches().pipe(
            Stream.mapError(inputFailed("pack", "train")),
            Stream.runForEach((rows) => Effect.sync(() => {
              for (const row of rows) inserter.next(row)
            }))
          )
          return Stream.fromIterable(inserter.records)
        }))
      })

      return {
        train_sequences: packed("train", plan, (inserter) => {
          trainRecords = inserter?.records ?? []
        }),
        eval_sequences: packed("eval", undefined, () => undefined),
        canaries: canaryRows,
        canary_info: { format, secretSpaceSize: secretSpaceSize(format), count: config.canaries.count, repeats: config.canaries.repeats }
      }
    })
})
