/**
 * The evaluation stages run directly (stub services) on hand-built inputs, against
 * independent computations:
 * - per-token losses from `losses()` on growing prefixes (not `tokenLosses`), bytes
 *   from the documents' own UTF-8 lengths, the unigram loss from the add-one formula;
 * - greedy decoding against argmin over every vocabulary continuation of `losses()`
 *   (not `nextTokenLogits`), one prompt at a time, and batched with mixed lengths;
 * - canary scoring boundaries and typed failures.
 */
import { describe, expect, it } from "vitest"
import { Effect, Exit, Stream } from "effect"
import type { Row, TableInput, TensorMap } from "@dpipe/dsl"
import type { Sequences } from "@dpipe/stages/data-stages/tables"
import { nlpCorpusTexts } from "@dpipe/data/public-corpora"
import { evaluate } from "@dpipe/stages/eval-stages/index"
import { splitScored } from "@dpipe/stages/eval-stages/memorization"
import { greedyDecode } from "@dpipe/stages/eval-stages/models"
import { GemmaModel, type ModelConfig, disposeWeights, initParams, modelPresets, paramLayout, uploadWeights } from "@dpipe/engine/model/gemma"
import { BpeTokenizer } from "@dpipe/data/tokenizer/encoder"
import { toTokenizerJson } from "@dpipe/data/tokenizer/hf-json"
import { trainBpe } from "@dpipe/data/tokenizer/train"
import { initBackend } from "@dpipe/engine/train/backend"
import { withStubServices } from "../data-stages/helpers.ts"

const texts: Array<string> = []
for (const s of nlpCorpusTexts()) {
  texts.push(s)
  if (texts.length >= 1500) break
}
const trained = trainBpe(texts, { vocabSize: 300 })
const tok = new BpeTokenizer(trained.model)
const tokJson = new TextEncoder().encode(toTokenizerJson(trained.model))
const S = 16
const cfg: ModelConfig = { ...modelPresets.micro, vocabSize: tok.vocabSize, contextLength: S - 1 }

const paramsFor = (seed: number): Float32Array => {
  const flat = initParams(cfg, seed)
  for (const s of paramLayout(cfg)) if (s.kind === "matrix") for (let j = 0; j < s.size; j++) flat[s.offset + j] = (flat[s.offset + j] as number) * 8
  return flat
}
const asTensors = (flat: Float32Array): TensorMap =>
  Object.fromEntries(paramLayout(cfg).map((s) => [s.name, { dtype: "float32" as const, shape: s.shape, data: flat.slice(s.offset, s.offset + s.size) }]))

/** Documents encoded with <eos> and packed into S-token rows, the last padded. */
const packDocs = (docs: ReadonlyArray<string>): Array<Row<typeof Sequences>> => {
  const all: Array<number> = []
  for (const d of docs) all.push(...tok.encode(d), tok.eosId)
  while (all.length % S !== 0) all.push(tok.padId)
  return Array.from({ length: all.length / S }, (_, i) => ({ seq_id: i, user_id: "u", tokens: new Int32Array(all.slice(i * S, (i + 1) * S)) }))
}
const tableInput = <R>(rows: ReadonlyArray<R>): TableInput<R> => ({
  path: "memory",
  numRows: rows.length,
  batches: () => Stream.make(rows),
  readAll: Effect.succeed(rows)
})
const utf8Length = (s: string): number => new TextEncoder().encode(s).length

describe("evaluate stage", () => {
  it("losses, bits per byte and the unigram baseline match direct computations", async () => {
    await initBackend("wasm")
    const evalDocs = ["Café crème, s'il vous plaît ☕ — merci.", ...texts.slice(1500 - 12, 1500 - 1)]
    const evalRows = packDocs(evalDocs)
    const trainRows = packDocs(texts.slice(0, 200))
    const dpFlat = paramsFor(11)
    const npFlat = paramsFor(12)
    const run = evaluate.run({
      config: {},
      perf: { backend: "wasm", microBatchSize: 5 },
      inputs: {
        eval_sequences: tableInput(evalRows),
        train_sequences: tableInput(trainRows),
        tokenizer: tokJson,
        dp_weights: asTensors(dpFlat),
        dp_model: cfg,
        baseline_weights: asTensors(npFlat),
        baseline_model: cfg
      },
      node: "evaluate",
      stageKey: "k",
      secretKey: () => new Uint8Array(32)
    })
    const { evaluation } = await Effect.runPromise(withStubServices(run))

    const N = evalRows.length
    const seqs = new Int32Array(N * S)
    evalRows.forEach((r, i) => seqs.set(r.tokens, i * S))
    const scored = (b: number, t: number) => seqs[b * S + t + 1] !== tok.padId

    // Bytes: every document byte except those of each row's first token (not predicted).
    let bytes = evalDocs.reduce((a, d) => a + utf8Length(d), 0)
    for (let b = 0; b < N; b++) bytes -= tok.decodeBytes([seqs[b * S] as number], true).length
    let tokens = 0
    for (let b = 0; b < N; b++) for (let t = 0; t < S - 1; t++) if (scored(b, t)) tokens++
    for (const m of [evaluation.models.dp, evaluation.models.nonPrivate, evaluation.models.unigram]) {
      expect(m.bytes).toBe(bytes)
      expect(m.tokens).toBe(tokens)
    }

    // Model losses: the loss at position t from losses() of prefixes of t+2 and t+1 tokens.
    const direct = (flat: Float32Array): number => {
      const model = new GemmaModel(cfg)
      const w = uploadWeights(cfg, flat)
      try {
        const meanAt = (len: number): Float32Array => {
          const x = new Int32Array(N * len)
          for (let b = 0; b < N; b++) x.set(seqs.subarray(b * S, b * S + len), b * len)
          return model.losses(w, x, N, len)
        }
        let total = 0
        let prev: Float32Array = new Float32Array(N)
        for (let t = 0; t < S - 1; t++) {
          const cur = meanAt(t + 2)
          for (let b = 0; b < N; b++) if (scored(b, t)) total += (t + 1) * (cur[b] as number) - t * (prev[b] as number)
          prev = cur
        }
        return total
      } finally {
        disposeWeights(w)
        model.dispose()
      }
    }
    const dpNats = direct(dpFlat)
    const npNats = direct(npFlat)
    expect(evaluation.models.dp.totalNats).toBeCloseTo(dpNats, 1)
    expect(Math.abs(evaluation.models.dp.totalNats - dpNats) / dpNats).toBeLessThan(1e-4)
    expect(Math.abs(evaluation.models.nonPrivate.totalNats - npNats) / npNats).toBeLessThan(1e-4)
    expect(evaluation.models.dp.bitsPerByte).toBeCloseTo(dpNats / Math.LN2 / bytes, 3)
    expect(evaluation.models.dp.perplexity).toBeCloseTo(Math.exp(dpNats / tokens), 2)

    // Unigram: add-one formula over the training tokens (padding not counted).
    const counts = new Map<number, number>()
    let n = 0
    for (const r of trainRows) for (const id of r.tokens) if (id !== tok.padId) {
      counts.set(id, (counts.get(id) ?? 0) + 1)
      n++
    }
    let uni = 0
    for (let b = 0; b < N; b++) for (let t = 0; t < S - 1; t++) if (scored(b, t)) uni -= Math.log(((counts.get(seqs[b * S + t + 1] as number) ?? 0) + 1) / (n + tok.vocabSize))
    expect(evaluation.unigram.trainTokens).toBe(n)
    expect(evaluation.models.unigram.totalNats).toBeCloseTo(uni, 6)
    expect(evaluation.models.unigram.bitsPerByte).toBeCloseTo(uni / Math.LN2 / bytes, 9)
    expect(evaluation.label).toBe("private")
  })

  it("fails with an actionable message when weights do not match the model config", async () => {
    await initBackend("wasm")
    const rows = packDocs(texts.slice(0, 5))
    const bad: Record<string, TensorMap[string]> = { ...asTensors(paramsFor(1)) }
    delete bad["final_norm"]
    const exit = await Effect.runPromiseExit(withStubServices(evaluate.run({
      config: {},
      perf: { backend: "wasm", microBatchSize: 4 },
      inputs: { eval_sequences: tableInput(rows), train_sequences: tableInput(rows), tokenizer: tokJson, dp_weights: bad, dp_model: cfg, baseline_weights: asTensors(paramsFor(2)), baseline_model: cfg },
      node: "evaluate",
      stageKey: "k",
      secretKey: () => new Uint8Array(32)
    })))
    expect(Exit.isFailure(exit)).toBe(true)
    expect(String(Exit.isFailure(exit) ? exit.cause : "")).toMatch(/dp model: the weights have no tensor "final_norm"; wire the weights and model outputs of the same training node/)
  })
})

describe("greedy decoding", () => {
  it("picks, at every step, the continuation that losses() scores lowest; batching and padding change nothing", async () => {
    await initBackend("wasm")
    const model = new GemmaModel(cfg)
    const w = uploadWeights(cfg, paramsFor(5))
    try {
      const loaded = { name: "test", config: cfg, model, weights: w }
      const prompts = [tok.encode("The quick brown"), tok.encode("It was"), tok.encode("In the beginning of the year")].map((p) => p.slice(0, 8))
      const lengths = [5, 4, 3]
      const batched = await Effect.runPromise(greedyDecode(loaded, prompts, lengths, 8))
      const V = cfg.vocabSize
      for (let i = 0; i < prompts.length; i++) {
        const alone = await Effect.runPromise(greedyDecode(loaded, [prompts[i]!], [lengths[i]!], 1))
        expect(Array.from(alone[0]!)).toEqual(Array.from(batched[i]!))
        // Independent: extend by every vocabulary token, keep the one with the lowest mean loss
        // (the other positions' losses are the same for all candidates).
        let ctx = Array.from(prompts[i]!)
        for (let step = 0; step < lengths[i]!; step++) {
          const L = ctx.length + 1
          const x = new Int32Array(V * L)
          for (let v = 0; v < V; v++) {
            x.set(ctx, v * L)
            x[v * L + L - 1] = v
          }
          const l = model.losses(w, x, V, L)
          let best = 0
          for (let v = 1; v < V; v++) if ((l[v] as number) < (l[best] as number)) best = v
          expect(batched[i]![step]).toBe(best)
          ctx = [...ctx, best]
        }
      }
      const tooLong = await Effect.runPromiseExit(greedyDecode(loaded, [new Int32Array(12).fill(5)], [5], 1))
      expect(String(Exit.isFailure(tooLong) ? tooLong.cause : "")).toMatch(/exceeds the context of 16; use fewer prefix or suffix tokens/)
    } finally {
      disposeWeights(w)
      model.dispose()
    }
  })
})

describe("canary scoring", () => {
  it("scores exactly the secret's tokens (with their leading space) after the prefix", () => {
    const { tokens, first } = splitScored(tok, "\nmy account number is ", "4827 1937 2212")
    // The space belongs to the digits' piece (GPT-2 pre-tokenization); whether it is merged
    // with them depends on the vocabulary: either way, the context ends inside the prefix
    // and every digit token is scored.
    const context = tok.decode(tokens.slice(0, first))
    const scoredText = tok.decode(tokens.slice(first))
    expect(["\nmy account number is", "\nmy account number is "]).toContain(context)
    expect(context + scoredText).toBe("\nmy account number is 4827 1937 2212")
  })
})
