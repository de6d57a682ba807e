/**
 * Stage `evaluate`: held-out loss, perplexity and bits per byte on the eval users'
 * packed sequences, for the DP model, the non-private baseline and a unigram baseline.
 *
 * - Scoring: every target position 1..S-1 of every eval sequence whose token is not
 *   <pad> (the first token of a sequence has no context and is not predicted); <eos>
 *   targets count (predicting a document's end is part of the task) with 0 bytes.
 * - Bits per byte (Gao et al. 2020, "The Pile", 4.1): total nats / ln 2 / UTF-8 bytes
 *   the scored tokens decode to, comparable across tokenizers.
 * - Unigram baseline: token frequencies of the training sequences (pad excluded) with
 *   add-one smoothing. It is fitted on private data without noise: its numbers are as
 *   private as the rest.
 * - Forward only (GemmaModel.tokenLosses): no gradients, micro-batched.
 *
 * Privacy: a held-out loss on private eval data is itself an unnoised statistic of
 * private data (docs/privacy.md, P6), even for the DP model; the output is labelled
 * private and shown only with that label.
 */
import { Effect, Stream } from "effect"
import { Artifact, Progress, Stage } from "@dpipe/dsl"
import type { ModelConfig } from "@dpipe/engine/model/gemma"
import { Sequences } from "@dpipe/stages/data-stages/tables"
import { lossMetrics, type LossSummary, unigramNegLogProbs } from "./metrics.ts"
import { checkVocabulary, fail, trainedModelInputs, loadModel, readSequences, readTokenizer, type SequenceSet, tokenByteLengths, tokenLosses } from "./models.ts"
import { EvalPerf, Evaluation, EvaluateConfig, type ModelEvaluation } from "./tables.ts"

const NAME = "evaluate"

/** `n` sequences spread evenly over the set (every user region of the table is represented). */
const evenlySpaced = (set: SequenceSet, n: number): SequenceSet => {
  const tokens = new Int32Array(n * set.seqLen)
  for (let i = 0; i < n; i++) {
    const src = Math.floor((i * set.count) / n)
    tokens.set(set.tokens.subarray(src * set.seqLen, (src + 1) * set.seqLen), i * set.seqLen)
  }
  return { tokens, seqLen: set.seqLen, count: n }
}

const toEvaluation = (description: string, modelLabel: "dp" | "private", s: LossSummary, what: string) =>
  Effect.gen(function* () {
    const m = lossMetrics(s)
    if (!Number.isFinite(m.meanLoss) || !Number.isFinite(m.bitsPerByte)) {
      return yield* fail(`${NAME}: the ${what} has a non-finite held-out loss (${m.meanLoss} nats/token over ${s.tokens} tokens, ${s.bytes} bytes): training diverged or the eval set is empty; lower the learning rate or check the eval split`)
    }
    const out: ModelEvaluation = { description, modelLabel, ...m }
    return out
  })

export const evaluate = Stage.make({
  name: NAME,
  version: "2",
  description: "Held-out loss, perplexity and bits per byte of the DP model, the non-private baseline and a unigram baseline (private: computed on private eval data).",
  config: EvaluateConfig,
  perf: EvalPerf,
  inputs: {
    eval_sequences: Artifact.table(Sequences),
    train_sequences: Artifact.table(Sequences, { description: "for the unigram baseline's token counts" }),
    tokenizer: Artifact.file("tokenizer", "json"),
    ...trainedModelInputs
  },
  outputs: {
    evaluation: Artifact.json("evaluation", Evaluation, { label: "private", description: "held-out metrics on private eval data (unnoised)" })
  },
  run: ({ config, perf, inputs }) =>
    Effect.gen(function* () {
      const progress = yield* Progress
      const tok = yield* readTokenizer(NAME, inputs.tokenizer)
      const V = tok.vocabSize
      const allEval = yield* readSequences(NAME, "eval_sequences", inputs.eval_sequences)
      const evalSet = config.maxSequences === undefined || config.maxSequences >= allEval.count ? allEval : evenlySpaced(allEval, config.maxSequences)
      yield* checkVocabulary(NAME, "eval_sequences", evalSet.tokens, V)
      const S = evalSet.seqLen
      const N = evalSet.count
      if (S < 2) return yield* fail(`${NAME}: eval sequences of ${S} token cannot be scored (need at least 2)`)

      // Scored targets and their bytes.
      const bytesOf = tokenByteLengths(tok)
      const T = S - 1
      const scored = new Uint8Array(N * T)
      let tokens = 0
      let bytes = 0
      for (let b = 0; b < N; b++) {
        for (let t = 0; t < T; t++) {
          const y = evalSet.tokens[b * S + t + 1] as number
          if (y === tok.padId) continue
          scored[b * T + t] = 1
          tokens++
          bytes += bytesOf[y] as number
        }
      }
      if (tokens === 0) return yield* fail(`${NAME}: the eval sequences hold only padding; check the split's evalFraction`)
      const sumScored = (losses: ArrayLike<number>): number => {
        let s = 0
        for (let i = 0; i < scored.length; i++) if (scored[i] === 1) s += losses[i] as number
        return s
      }

      // Unigram baseline fitted on the training sequences.
      const counts = new Float64Array(V)
      let trainTokens = 0
      yield* inputs.train_sequences.batches().pipe(
        Stream.mapError((e) => fail(`${NAME}: reading input train_sequences failed (${e.path}): ${e.message}`)),
        Stream.runForEach((rows) =>
          Effect.gen(function* () {
            for (const r of rows) {
              for (const id of r.tokens) {
                if (id < 0 || id >= V) return yield* fail(`${NAME}: train_sequences holds token id ${id}, outside the tokenizer's vocabulary of ${V}; wire the tokenizer the sequences were packed with`)
                if (id === tok.padId) continue
                counts[id] = (counts[id] as number) + 1
                trainTokens++
              }
            }
          })
        )
      )
      const unigramNll = unigramNegLogProbs(counts, [tok.padId])
      let unigramNats = 0
      for (let b = 0; b < N; b++) for (let t = 0; t < T; t++) if (scored[b * T + t] === 1) unigramNats += unigramNll[evalSet.tokens[b * S + t + 1] as number] as number

      const scoreModel = (which: "dp" | "non-private", cfg: ModelConfig, weights: typeof inputs.dp_weights, offset: number) =>
        Effect.scoped(
          Effect.gen(function* () {
            if (T > cfg.contextLength) return yield* fail(`${NAME}: eval sequences of ${S} tokens exceed the ${which} model's context of ${cfg.contextLength + 1}; pack the eval set with the training seqLen`)
            const m = yield* loadModel(NAME, which, cfg, weights, perf.backend, V)
            const losses = yield* tokenLosses(m, evalSet.tokens, N, S, perf.microBatchSize, (done) => progress.update(offset + done, 2 * N, { model: which }))
            return sumScored(losses)
          })
        )

      yield* progress.info(`${NAME}: ${N} of ${allEval.count} eval sequences of ${S} tokens (${tokens} scored tokens, ${bytes} bytes); unigram fitted on ${trainTokens} training tokens`)
      const dpNats = yield* scoreModel("dp", inputs.dp_model, inputs.dp_weights, 0)
      const npNats = yield* scoreModel("non-private", inputs.baseline_model, inputs.baseline_weights, N)
      const summary = (totalNats: number): LossSummary => ({ tokens, bytes, totalNats })

      const evaluation: Evaluation = {
        label: "private",
        note: "Held-out metrics on private eval users' data, computed without noise: private (docs/privacy.md, P6), even for the DP model, whose weights alone are DP. The unigram baseline is fitted on the private training sequences.",
        sequences: N,
        availableSequences: allEval.count,
        seqLen: S,
        scoring: "every target position 1..S-1 whose token is not <pad>; <eos> targets are scored and decode to 0 bytes; bits per byte = total nats / ln 2 / UTF-8 bytes of the scored tokens",
        models: {
          dp: yield* toEvaluation("DP-SGD model (weights labelled dp)", "dp", summary(dpNats), "DP model"),
          nonPrivate: yield* toEvaluation("non-private baseline: same model, data and steps without clipping or noise", "private", summary(npNats), "non-private model"),
          unigram: yield* toEvaluation("unigram token frequencies of the training sequences, add-one smoothing (fitted on private data)", "private", summary(unigramNats), "unigram baseline")
        },
        unigram: { smoothing: "add-one", trainTokens, vocabSize: V }
      }
      yield* progress.info(
        `${NAME}: loss (nats/token) dp ${evaluation.models.dp.meanLoss.toFixed(4)}, non-private ${evaluation.models.nonPrivate.meanLoss.toFixed(4)}, unigram ${evaluation.models.unigram.meanLoss.toFixed(4)}; ` +
          `bits/byte ${evaluation.models.dp.bitsPerByte.toFixed(3)} / ${evaluation.models.nonPrivate.bitsPerByte.toFixed(3)} / ${evaluation.models.unigram.bitsPerByte.toFixed(3)}`
      )
      return { evaluation }
    })
})
