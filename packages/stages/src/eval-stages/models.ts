/**
 * What the evaluation stages share: reading trained models (the training stages'
 * `weights` tensors and `model` json) back into GemmaModel, reading packed sequences,
 * scoring tokens forward-only, and greedy decoding. All tensor work goes through
 * GemmaModel's forward-only methods (`tokenLosses`, `nextTokenLogits`); nothing here
 * computes gradients.
 */
import { Effect, Stream } from "effect"
import { Artifact, ArtifactReadError, StageFailed, type TensorMap } from "@dpipe/dsl"
import { GemmaModel, ModelConfig, paramLayout, uploadWeights, disposeWeights, type Weights } from "@dpipe/engine/model/gemma"
import type { BpeTokenizer } from "@dpipe/data/tokenizer/encoder"
import { tokenizerFromJson } from "@dpipe/data/tokenizer/hf-json"
import { type BackendName, initBackend } from "@dpipe/engine/train/backend"
import { argmax } from "./metrics.ts"

/** The two trained models both evaluation stages score: the DP-SGD one and the non-private baseline. */
export const trainedModelInputs = {
  dp_weights: Artifact.tensors("weights"),
  dp_model: Artifact.json("model-config", ModelConfig),
  baseline_weights: Artifact.tensors("weights"),
  baseline_model: Artifact.json("model-config", ModelConfig)
}

export const fail = (message: string): StageFailed => new StageFailed({ message })

const messageOf = (e: unknown): string =>
  typeof e === "object" && e !== null && "message" in e && typeof e.message === "string" && e.message !== "" ? e.message : String(e)

/** Parses the tokenizer.json input. */
export const readTokenizer = (stage: string, bytes: Uint8Array): Effect.Effect<BpeTokenizer, StageFailed> =>
  Effect.try({
    try: () => tokenizerFromJson(new TextDecoder("utf-8", { fatal: true }).decode(bytes)),
    catch: (e) => fail(`${stage}: the tokenizer input is not a usable tokenizer.json: ${messageOf(e)}`)
  })

/**
 * The flat parameter vector (paramLayout order) of a trained model's weights tensors.
 * Fails naming the missing or mis-shaped tensor: a weights artifact from another model
 * shape cannot be evaluated with this config.
 */
export const flattenWeights = (what: string, config: ModelConfig, tensors: TensorMap): Effect.Effect<Float32Array, StageFailed> =>
  Effect.suspend(() => {
    const layout = paramLayout(config)
    const total = layout.reduce((a, s) => a + s.size, 0)
    const flat = new Float32Array(total)
    for (const s of layout) {
      const t = tensors[s.name]
      if (t === undefined) return Effect.fail(fail(`${what}: the weights have no tensor "${s.name}"; wire the weights and model outputs of the same training node`))
      if (t.dtype !== "float32" || t.data.length !== s.size) {
        return Effect.fail(fail(`${what}: tensor "${s.name}" is ${t.dtype} with ${t.data.length} values, the model config needs float32 with ${s.size} (shape ${s.shape.join("x")}); wire the weights and model outputs of the same training node`))
      }
      flat.set(t.data, s.offset)
    }
    return Effect.succeed(flat)
  })

/** A trained model ready for forward passes; released (tensors disposed) with the scope. */
export interface LoadedModel {
  readonly name: string
  readonly config: ModelConfig
  readonly model: GemmaModel
  readonly weights: Weights
}

export const loadModel = (stage: string, name: string, config: ModelConfig, tensors: TensorMap, backend: BackendName, vocabSize: number) =>
  Effect.gen(function* () {
    if (config.vocabSize !== vocabSize) {
      return yield* fail(`${stage}: the ${name} model has vocabulary ${config.vocabSize} but the tokenizer has ${vocabSize}; wire the tokenizer the model was trained with`)
    }
    const flat = yield* flattenWeights(`${stage}: ${name} model`, config, tensors)
    yield* Effect.tryPromise({ try: () => initBackend(backend), catch: (e) => fail(`${stage}: backend ${backend}: ${messageOf(e)}`) })
    return yield* Effect.acquireRelease(
      Effect.try({
        try: (): LoadedModel => {
          const model = new GemmaModel(config)
          return { name, config, model, weights: uploadWeights(config, flat) }
        },
        catch: (e) => fail(`${stage}: uploading the ${name} model: ${messageOf(e)}`)
      }),
      (m) =>
        Effect.sync(() => {
          disposeWeights(m.weights)
          m.model.dispose()
        })
    )
  })

/** Packed sequences read into one flat array. */
export interface SequenceSet {
  readonly tokens: Int32Array
  readonly seqLen: number
  readonly count: number
}

/** Reads a sequences table (all rows of one length), optionally only the first `limit` rows. */
export const readSequences = (
  stage: string,
  input: string,
  table: { readonly numRows: number; readonly batches: () => Stream.Stream<ReadonlyArray<{ readonly tokens: Int32Array }>, ArtifactReadError> },
  limit = Number.POSITIVE_INFINITY
): Effect.Effect<SequenceSet, StageFailed> =>
  Effect.gen(function* () {
    const rows = Math.min(table.numRows, limit)
    let seqLen = -1
    let count = 0
    let tokens = new Int32Array(0)
    yield* table.batches().pipe(
      Stream.mapError((e) => fail(`${stage}: reading input ${input} failed (${e.path}): ${e.message}`)),
      Stream.runForEach((batch) =>
        Effect.gen(function* () {
          for (const r of batch) {
            if (count >= rows) return
            if (seqLen < 0) {
              seqLen = r.tokens.length
              tokens = new Int32Array(seqLen * rows)
            }
            if (r.tokens.length !== seqLen) return yield* fail(`${stage}: ${input} row ${count} has ${r.tokens.length} tokens, expected ${seqLen}: wire packed sequences of one length`)
            tokens.set(r.tokens, count * seqLen)
            count++
          }
        })
      )
    )
    if (count === 0) return yield* fail(`${stage}: input ${input} has no sequences`)
    return { tokens, seqLen, count }
  })

/** Checks every token id is inside the vocabulary (a mismatched tokenizer shows up here). */
export const checkVocabulary = (stage: string, input: string, tokens: Int32Array, vocabSize: number): Effect.Effect<void, StageFailed> =>
  Effect.suspend(() => {
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i] as number
      if (t < 0 || t >= vocabSize) return Effect.fail(fail(`${stage}: ${input} holds token id ${t}, outside the tokenizer's vocabulary of ${vocabSize}; wire the tokenizer the sequences were packed with`))
    }
    return Effect.void
  })

/**
 * Per-token losses of `B` right-padded rows of `S` tokens, in micro-batches of
 * `microBatch` rows; [B * (S-1)] nats. Yields to the scheduler between micro-batches.
 */
export const tokenLosses = (m: LoadedModel, seqs: Int32Array, B: number, S: number, microBatch: number, onBatch?: (done: number) => Effect.Effect<void>) =>
  Effect.gen(function* () {
    const out = new Float32Array(B * (S - 1))
    for (let s = 0; s < B; s += microBatch) {
      const n = Math.min(microBatch, B - s)
      const l = yield* Effect.try({
        try: () => m.model.tokenLosses(m.weights, seqs.subarray(s * S, (s + n) * S), n, S),
        catch: (e) => fail(`forward pass of the ${m.name} model: ${messageOf(e)}`)
      })
      out.set(l, s * (S - 1))
      if (onBatch !== undefined) yield* onBatch(s + n)
      yield* Effect.yieldNow
    }
    return out
  })

/**
 * Greedy decoding (argmax at every step, ties to the lowest id; no sampling): for each
 * prompt, `lengths[i]` new tokens. Prompts of different lengths share a batch, right
 * padded: the model is causal, so the padding after a row's last token cannot change
 * its next-token logits. Every input must fit the context: prompt + length - 1 tokens.
 */
export const greedyDecode = (m: LoadedModel, prompts: ReadonlyArray<Int32Array>, lengths: ReadonlyArray<number>, microBatch: number) =>
  Effect.gen(function* () {
    const V = m.config.vocabSize
    const outs = prompts.map((_, i) => new Int32Array(lengths[i] ?? 0))
    for (let i = 0; i < prompts.length; i++) {
      const need = (prompts[i]?.length ?? 0) + (lengths[i] ?? 0) - 1
      if ((prompts[i]?.length ?? 0) < 1) return yield* fail(`greedy decoding with the ${m.name} model: prompt ${i} is empty`)
      if (need > m.config.contextLength) return yield* fail(`greedy decoding with the ${m.name} model: prompt ${i} (${prompts[i]?.length} tokens) plus ${lengths[i]} new tokens exceeds the context of ${m.config.contextLength + 1}; use fewer prefix or suffix tokens`)
    }
    // Batches of similar total length waste less on padding.
    const order = prompts.map((_, i) => i).sort((a, b) => (prompts[a]?.length ?? 0) + (lengths[a] ?? 0) - (prompts[b]?.length ?? 0) - (lengths[b] ?? 0) || a - b)
    for (let s = 0; s < prompts.length; s += microBatch) {
      const rows = order.slice(s, s + microBatch)
      const steps = Math.max(0, ...rows.map((i) => lengths[i] ?? 0))
      for (let step = 0; step < steps; step++) {
        const active = rows.filter((i) => step < (lengths[i] ?? 0))
        const T = Math.max(...active.map((i) => (prompts[i]?.length ?? 0) + step))
        const inputs = new Int32Array(active.length * T)
        const positions = new Int32Array(active.length)
        active.forEach((i, b) => {
          const p = prompts[i] as Int32Array
          inputs.set(p, b * T)
          inputs.set((outs[i] as Int32Array).subarray(0, step), b * T + p.length)
          positions[b] = p.length + step - 1
        })
        const logits = yield* Effect.try({
          try: () => m.model.nextTokenLogits(m.weights, inputs, active.length, T, positions),
          catch: (e) => fail(`greedy decoding with the ${m.name} model: ${messageOf(e)}`)
        })
        active.forEach((i, b) => {
          ;(outs[i] as Int32Array)[step] = argmax(logits, b * V, V)
        })
        yield* Effect.yieldNow
      }
    }
    return outs
  })

/** UTF-8 bytes each token id decodes to (0 for special tokens such as <eos> and <pad>). */
export const tokenByteLengths = (tok: BpeTokenizer): Int32Array => {
  const out = new Int32Array(tok.vocabSize)
  for (let v = 0; v < tok.vocabSize; v++) out[v] = tok.decodeBytes([v], true).length
  return out
}
