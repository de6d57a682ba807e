/**
 * own-mail: DP pretraining on your own mail, as a new user writes it. The private corpus
 * is a JSONL file (pipelines/data/own-mail.jsonl: synthetic mail, one message per line,
 * with one broken record the corpus stage counts and reports); the budget is epsilon 3;
 * a statistics stage of the user's own (Stage.make) summarises the training split.
 *
 *   corpus (own JSONL, private) -> split -> mail-stats (custom: counts per user, lengths)
 *   public-corpus -> tokenizer --------> pack -> dp-train (DP-SGD, epsilon 3)
 *                                             -> baseline (same model, data and steps)
 *   dp-train.plan -> privacy-statement
 *
 * Try:
 *   pnpm pipeline plan own-mail
 *   pnpm pipeline run own-mail --scale micro
 *   pnpm pipeline run own-mail --set params.steps=60        (both trainers; sigma recalibrated)
 *   pnpm pipeline run own-mail --set corpus.path=my-mail.jsonl --set corpus.textColumn=body
 *
 * Sigma is calibrated to epsilon 3 by the PLD accountant, the one the run reports (the
 * smallest sigma, to 0.1%, whose PLD epsilon is within the budget; cached by its inputs).
 */
import { fileURLToPath } from "node:url"
import { Effect, Schema, Stream } from "effect"
import { Artifact, Params, Pipeline, Stage, StageFailed } from "@dpipe/dsl"
import { addDataStages, calibrateSigmaByPld, Corpus, dataSettings, defaultAccountants, Documents, dpTrain, privacyStatement, train } from "@dpipe/stages"

const BUDGET = { epsilon: 3, delta: 1e-6 }

/** The user's own statistics stage: how the training split is spread over users. */
const MailStats = Schema.Struct({
  documents: Schema.Int,
  users: Schema.Int,
  meanBytes: Schema.Number,
  maxDocumentsPerUser: Schema.Int
})

const mailStats = Stage.make({
  name: "mail-stats",
  version: "1",
  description: "Documents, users, mean size and the largest user's share of the training split.",
  config: Schema.Struct({}),
  inputs: { documents: Artifact.table(Documents) },
  // No label: computed from private documents without noise, so it is private.
  outputs: { stats: Artifact.json("mail-stats", MailStats) },
  run: ({ inputs }) =>
    inputs.documents.batches().pipe(
      Stream.runFold(
        () => ({ documents: 0, bytes: 0, perUser: new Map<string, number>() }),
        (acc, rows) => {
          for (const r of rows) {
            acc.documents++
            acc.bytes += r.bytes
            acc.perUser.set(r.user_id, (acc.perUser.get(r.user_id) ?? 0) + 1)
          }
          return acc
        }
      ),
      Effect.map((acc) => ({
        stats: {
          documents: acc.documents,
          users: acc.perUser.size,
          meanBytes: acc.documents === 0 ? 0 : acc.bytes / acc.documents,
          maxDocumentsPerUser: Math.max(0, ...acc.perUser.values())
        }
      })),
      Effect.mapError((e) => new StageFailed({ message: `mail-stats: ${e.message}` }))
    )
})

/** Parameters both trainers read; sigma derives from them (`--set params.steps=60`). */
const training = Params.make({
  schema: Schema.Struct({
    steps: Schema.Int.check(Schema.isGreaterThan(0)),
    samplingRate: Schema.Finite.check(Schema.isGreaterThan(0), Schema.isLessThanOrEqualTo(1)),
    dModel: Schema.Int.check(Schema.isGreaterThan(0))
  }),
  defaults: { steps: 40, samplingRate: 0.05, dModel: 64 },
  derive: (p) => {
    const sigma = calibrateSigmaByPld({ samplingRate: p.samplingRate, steps: p.steps, epsilon: BUDGET.epsilon, delta: BUDGET.delta, relTol: 1e-3 })
    const model = { dModel: p.dModel, layers: 1, heads: 2, kvHeads: 1, headDim: p.dModel / 2, ffnDim: 2 * p.dModel }
    const out: Record<string, unknown> = { "dp-train.noiseMultiplier": sigma }
    for (const node of ["dp-train", "baseline"]) {
      out[`${node}.steps`] = p.steps
      out[`${node}.samplingRate`] = p.samplingRate
      out[`${node}.model`] = model
    }
    return out
  }
})

/** Small data settings for both scales: the fixture is about 120 messages. */
const data = dataSettings({
  "public-corpus": { maxTexts: 5_000 },
  tokenizer: { vocabSize: 384 },
  pack: { seqLen: 48, canaries: { count: 2, repeats: 2 } }
})

export default Pipeline.make(
  "own-mail",
  {
    description: "Your own JSONL mail at epsilon 3: DP-SGD vs a non-private baseline, with a custom statistics stage",
    scales: {
      micro: { ...data, ...training.preset({ steps: 12, dModel: 32 }) },
      tiny: { ...data, ...training.preset({ steps: 40 }) }
    },
    defaultScale: "tiny",
    privacy: { budget: BUDGET, accountants: defaultAccountants },
    params: training,
    matching: [{ nodes: ["dp-train", "baseline"], fields: ["model", "steps", "samplingRate"], why: "the baseline is the DP run's non-private twin" }]
  },
  (b) => {
    const d = addDataStages(b, {
      source: Corpus.jsonl({ path: fileURLToPath(new URL("./data/own-mail.jsonl", import.meta.url)), textColumn: "text", userColumn: "from", idColumn: "id", dataset: "own-mail" })
    })
    const stats = b.add("mail-stats", mailStats, { inputs: { documents: d.split.out.train_documents } })
    const common = { model: { dModel: 64, layers: 1, heads: 2, kvHeads: 1, headDim: 32, ffnDim: 128 }, steps: 40, samplingRate: 0.05, clipNorm: 1, noiseMultiplier: 1, optimizer: { peakLr: 1e-2, warmupSteps: 2 } }
    const inputs = { sequences: d.pack.out.train_sequences, tokenizer: d.tokenizer.out.tokenizer }
    const dp = b.add("dp-train", dpTrain, { config: common, inputs })
    b.add("baseline", train, { config: { ...common, optimizer: { peakLr: 3e-3, warmupSteps: 2 } }, inputs })
    const st = b.add("privacy-statement", privacyStatement, { config: { delta: BUDGET.delta, budgetEpsilon: BUDGET.epsilon }, inputs: { plan: dp.out.plan, model: dp.out.model } })
    return { summary: st.out.statement, publish: { "mail-stats.json": stats.out.stats } }
  }
)
