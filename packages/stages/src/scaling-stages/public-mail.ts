/**
 * Stage `public-mail` (source): the PUBLIC proxy corpus the scaling-law sweep trains on,
 * tokenized and packed into train and eval sequences.
 *
 * Why a proxy: the sweep's runs inject noise at a noise-batch ratio (a hyperparameter)
 * and are not DP-accounted, so they must not see the private corpus. The law is used to
 * plan DP training on SpamAssassin ham (personal mail); the closest public text at hand
 * is the same corpus's spam groups (spam-1, spam-2): bulk mail sent to many recipients,
 * not personal correspondence, with the same headers-stripped "Subject\n\nbody" format,
 * the same MIME/HTML decoding and the same vocabulary of mail. This stage declares them
 * public (its outputs are labelled public and it declares no private dataset).
 *
 * Documents go to eval when a hash of their id falls in `evalFraction` (stable across
 * runs), and each side is packed like the `pack` stage packs ham (documents + <eos>,
 * "mixed" packing, last sequence padded), with the public tokenizer.
 */
import { Effect, Schema } from "effect"
import { Artifact, Progress, Stage } from "@dpipe/dsl"
import { messagesToDocuments } from "@dpipe/data/corpus"
import { SequencePacker } from "@dpipe/data/pack"
import { type Document, type Sequence, newLoadStats } from "@dpipe/data/schema"
import { SPAM_ASSASSIN_GROUPS, loadSpamAssassin } from "@dpipe/data/spam-assassin"
import { tokenizerFromJson } from "@dpipe/data/tokenizer/hf-json"
import { attempt } from "../data-stages/streams.ts"
import { Sequences } from "../data-stages/tables.ts"

const positiveInt = Schema.Int.check(Schema.isGreaterThan(0))

export const PublicMailConfig = Schema.Struct({
  /** SpamAssassin groups declared public (default the spam groups). */
  groups: Schema.Array(Schema.Literals(SPAM_ASSASSIN_GROUPS))
    .check(Schema.makeFilter((g) => (g.length === 0 ? "list at least one group (spam-1, spam-2)" : g.some((x) => !x.startsWith("spam")) ? "only the spam groups are public: ham is personal mail (use the corpus stage, under DP)" : undefined)))
    .pipe(Schema.withDecodingDefaultKey(Effect.succeed(["spam-1", "spam-2"] as const))),
  /** Tokens per sequence (the recipe's pack.seqLen). */
  seqLen: Schema.Int.check(Schema.isGreaterThanOrEqualTo(2)),
  /** Share of documents held out for evaluation. */
  evalFraction: Schema.Finite.check(Schema.isBetween({ minimum: 0.01, maximum: 0.5 })).pipe(Schema.withDecodingDefaultKey(Effect.succeed(0.1))),
  /** Keep only the first maxDocuments documents (quick runs). */
  maxDocuments: Schema.optionalKey(positiveInt)
})
export type PublicMailConfig = typeof PublicMailConfig.Type

/** FNV-1a of a string, in [0, 1): a stable hash for the eval split. */
const unitHash = (s: string): number => {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193) >>> 0
  }
  return h / 2 ** 32
}

export const publicMail = Stage.make({
  name: "public-mail",
  version: "1",
  description: "Public proxy corpus for the scaling sweep: SpamAssassin spam (bulk mail, declared public), tokenized and packed into train and eval sequences.",
  config: PublicMailConfig,
  inputs: { tokenizer: Artifact.file("tokenizer", "json") },
  outputs: {
    train_sequences: Artifact.table(Sequences, { label: "public", description: "packed public spam sequences (training)" }),
    eval_sequences: Artifact.table(Sequences, { label: "public", description: "packed public spam sequences (held out)" })
  },
  run: ({ config, inputs }) =>
    Effect.gen(function* () {
      const progress = yield* Progress
      const tok = yield* attempt(() => tokenizerFromJson(new TextDecoder("utf-8", { fatal: true }).decode(inputs.tokenizer)))
      const docs: ReadonlyArray<Document> = yield* attempt(() => {
        const out: Array<Document> = []
        for (const d of messagesToDocuments(loadSpamAssassin({ groups: config.groups }), newLoadStats())) {
          out.push(d)
          if (config.maxDocuments !== undefined && out.length >= config.maxDocuments) break
        }
        return out
      })
      const packed = (keep: (d: Document) => boolean): Array<Sequence> => {
        const packer = new SequencePacker({ seqLen: config.seqLen, mode: "mixed", remainder: "pad" }, { eosId: tok.eosId, padId: tok.padId })
        const out: Array<Sequence> = []
        for (const d of docs) if (keep(d)) for (const s of packer.push({ user_id: d.user_id, tokens: tok.encode(d.text) })) out.push(s)
        for (const s of packer.flush()) out.push(s)
        return out
      }
      const isEval = (d: Document) => unitHash(d.doc_id) < config.evalFraction
      const train = yield* attempt(() => packed((d) => !isEval(d)))
      const evalSeqs = yield* attempt(() => packed(isEval))
      yield* progress.info(`public-mail: ${docs.length} documents (${config.groups.join(", ")}) -> ${train.length} train and ${evalSeqs.length} eval sequences of ${config.seqLen} tokens`)
      return { train_sequences: train, eval_sequences: evalSeqs }
    })
})
