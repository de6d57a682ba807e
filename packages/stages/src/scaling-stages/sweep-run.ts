/**
 * Stage `sweep-run`: one point of the scaling-law sweep (McKenna et al. 2025, "Scaling
 * Laws for Differentially Private Language Models", §3 and Alg. 1): one model, one
 * noise-batch ratio sigma-bar, one learning rate, trained with the paper's decoupling:
 *
 * - a FIXED physical batch of b sequences per step (shuffled epochs, not Poisson:
 *   engine sampling/fixed-batch.ts), keyed by ctx.secretKey("sampler");
 * - per-example clipping to c, divided by c ("normalised"; c = 1 by default);
 * - Gaussian noise of std sigma-bar on the MEAN gradient, from the keyed CSPRNG stream
 *   ctx.secretKey("noise") as in dp-train (engine dp/noise-batch-ratio.ts maps sigma-bar
 *   onto the loop's mechanism: noise multiplier b * sigma-bar on the sum, divided by b);
 * - AdamW with linear warm-up then cosine decay to 0.1x (the recipe's optimizer, so the
 *   law describes the schedule the planned run will use).
 *
 * Every `evalEvery` steps the held-out loss on a fixed eval set (the first
 * `evalSequences` eval sequences) is one observation: the paper reads every T from one
 * run. The training loss since the last observation is kept beside it for diagnosis.
 *
 * NOT a DP mechanism: sigma-bar is a hyperparameter, nothing is accounted, and the
 * stage refuses private inputs (it requires public sequences). Checkpoints (weights, Adam
 * moments, observations) every `checkpointEvery` steps make it resumable; the sampler
 * and the noise are pure functions of (key, step), so a resumed point gives the same
 * observations on the same backend. `enabled: false` makes a point a no-op (a scale
 * runs a subset of the grid).
 */
import { Effect, Option, Schema, Stream } from "effect"
import { Artifact, Checkpoints, Progress, Stage, StageFailed, type TensorMap } from "@dpipe/dsl"
import { decodeModelConfig, paramCount, paramLayout } from "@dpipe/engine/model/gemma"
import { fixedBatchSampler } from "@dpipe/engine/sampling/fixed-batch"
import { noiseBatchRatioMechanism } from "@dpipe/engine/dp/noise-batch-ratio"
import { Trainer, TrainCountersSchema, evaluateLoss, type TrainState } from "@dpipe/engine/train/loop"
import { BackendName } from "@dpipe/engine/train/backend"
import { tokenizerFromJson } from "@dpipe/data/tokenizer/hf-json"
import { ModelShape, OptimizerSettings } from "../training-stages/config.ts"
import { Sequences } from "../data-stages/tables.ts"
import { SweepObservations, type SweepObservationRow } from "./tables.ts"

const Positive = Schema.Finite.check(Schema.isGreaterThan(0))
const PositiveInt = Schema.Int.check(Schema.isGreaterThan(0))
const withDefault = <S extends Schema.Top & { readonly Encoded: unknown }>(value: S["Encoded"]) => (s: S) => s.pipe(Schema.withDecodingDefaultKey(Effect.succeed(value)))

export const SweepRunConfig = Schema.Struct({
  /** The model's name in the law (micro, tiny, ...). */
  modelName: Schema.String.check(Schema.isNonEmpty()),
  model: ModelShape,
  /** sigma-bar >= 0: noise std on the mean gradient. */
  noiseBatchRatio: Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0)),
  /** Peak learning rate of this point. */
  learningRate: Positive,
  /** The fixed physical batch b. */
  batchSize: PositiveInt,
  steps: PositiveInt,
  /** Per-example clip norm c (normalised clipping divides by it). */
  clipNorm: Positive.pipe(withDefault(1)),
  /** Observe the held-out loss every this many steps. */
  evalEvery: PositiveInt.pipe(withDefault(10)),
  /** Size of the fixed eval set (the first eval sequences). */
  evalSequences: PositiveInt.pipe(withDefault(128)),
  /** Warm-up, decay floor, betas and weight decay (peakLr is replaced by learningRate). */
  optimizer: OptimizerSettings.pipe(withDefault({})),
  initSeed: Schema.Int.pipe(withDefault(0)),
  /** false: this grid point is not part of the scale (outputs no observations, trains nothing). */
  enabled: Schema.Boolean.pipe(withDefault(true))
})
export type SweepRunConfig = typeof SweepRunConfig.Type

export const SweepRunPerf = Schema.Struct({
  backend: BackendName.pipe(withDefault("native" as const)),
  /** Compute gradients in a worker thread, so that concurrent points use several cores. */
  offThread: Schema.Boolean.pipe(withDefault(true)),
  microBatchSize: PositiveInt.pipe(withDefault(32)),
  checkpointEvery: PositiveInt.pipe(withDefault(50))
})

const CheckpointState = Schema.Struct({
  counters: TrainCountersSchema,
  observations: Schema.Array(Schema.Unknown),
  /** Training-loss sum and count since the last observation. */
  trainSum: Schema.Number,
  trainN: Schema.Int
})

const fail = (message: string) => new StageFailed({ message })
const describeError = (e: unknown): string => (e instanceof Error && e.message !== "" ? e.message : String(e))

/** Observations go into checkpoint JSON, which has no NaN: keep non-finite numbers as strings. */
const rowToJson = (r: SweepObservationRow): Record<string, number | string> =>
  Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === "number" && !Number.isFinite(v) ? String(v) : v]))
const rowFromJson = (r: unknown): SweepObservationRow => {
  const o = r as Record<string, number | string>
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, k !== "model" && typeof v === "string" ? Number(v) : v])) as SweepObservationRow
}

const loadSequences = (input: { readonly batches: () => Stream.Stream<ReadonlyArray<{ readonly tokens: Int32Array }>, { readonly message: string }> }, what: string, limit = Number.POSITIVE_INFINITY) =>
  Effect.gen(function* () {
    const rows: Array<Int32Array> = []
    yield* input.batches().pipe(
      Stream.runForEach((batch) => Effect.sync(() => {
        for (const r of batch) if (rows.length < limit) rows.push(r.tokens)
      })),
      Effect.mapError((e) => fail(`sweep-run: reading ${what}: ${e.message}`))
    )
    if (rows.length === 0) return yield* fail(`sweep-run: the ${what} table is empty`)
    const seqLen = (rows[0] as Int32Array).length
    const tokens = new Int32Array(seqLen * rows.length)
    rows.forEach((r, i) => {
      tokens.set(r.subarray(0, seqLen), i * seqLen)
    })
    if (rows.some((r) => r.length !== seqLen)) return yield* fail(`sweep-run: the ${what} sequences differ in length: training needs packed sequences of one length`)
    return { tokens, seqLen, count: rows.length }
  })

const toTensors = (prefix: string, named: Readonly<Record<string, Float32Array>>): TensorMap =>
  Object.fromEntries(Object.entries(named).map(([k, v]) => [`${prefix}${k}`, { dtype: "float32" as const, shape: [v.length], data: v }]))
const fromTensors = (prefix: string, tensors: TensorMap): Record<string, Float32Array> => {
  const out: Record<string, Float32Array> = {}
  for (const [k, t] of Object.entries(tensors)) if (k.startsWith(prefix) && t.data instanceof Float32Array) out[k.slice(prefix.length)] = t.data
  return out
}

export const sweepRun = Stage.make({
  name: "sweep-run",
  version: "1",
  description: "One scaling-sweep point: fixed batch b, normalised clipping, noise sigma-bar on the mean gradient, AdamW; held-out loss every k steps (public data, not accounted).",
  config: SweepRunConfig,
  perf: SweepRunPerf,
  inputs: {
    sequences: Artifact.requiring("public")(Artifact.table(Sequences)),
    eval_sequences: Artifact.requiring("public")(Artifact.table(Sequences)),
    tokenizer: Artifact.file("tokenizer", "json")
  },
  outputs: {
    observations: Artifact.table(SweepObservations, { description: "held-out loss every evalEvery steps of this point" })
  },
  notes: (c) => [c.enabled ? `${c.modelName}, sigma-bar ${c.noiseBatchRatio}, lr ${c.learningRate}: ${c.steps} steps of ${c.batchSize} sequences` : "not part of this scale (no-op)"],
  run: ({ config, perf, inputs, secretKey }) =>
    Effect.gen(function* () {
      if (!config.enabled) return { observations: [] }
      const progress = yield* Progress
      const checkpoints = yield* Checkpoints
      const tokenizer = yield* Effect.try({
        try: () => tokenizerFromJson(new TextDecoder().decode(inputs.tokenizer)),
        catch: (e) => fail(`sweep-run: the tokenizer input is not a valid tokenizer.json: ${String(e)}`)
      })
      const data = yield* loadSequences(inputs.sequences, "training sequences")
      const evalData = yield* loadSequences(inputs.eval_sequences, "eval sequences", config.evalSequences)
      const model = yield* Effect.try({
        try: () => decodeModelConfig({ ...config.model, vocabSize: tokenizer.vocabSize, contextLength: data.seqLen - 1 }),
        catch: (e) => fail(`sweep-run: invalid model shape: ${String(e)}`)
      })
      const params = paramCount(model)
      const evalIdx = Int32Array.from({ length: evalData.count }, (_, i) => i)
      const select = fixedBatchSampler(secretKey("sampler"), data.count, config.batchSize)
      const dp = noiseBatchRatioMechanism({ noiseBatchRatio: config.noiseBatchRatio, batchSize: config.batchSize, clipNorm: config.clipNorm, noiseKey: secretKey("noise") })

      const latest = yield* checkpoints.latest
      let observations: Array<SweepObservationRow> = []
      let trainSum = 0
      let trainN = 0
      let restored: TrainState | undefined
      if (Option.isSome(latest)) {
        const s = Schema.decodeUnknownSync(CheckpointState)(latest.value.state)
        const t = latest.value.tensors
        restored = { step: latest.value.step, params: fromTensors("params/", t), adamM: fromTensors("adam_m/", t), adamV: fromTensors("adam_v/", t), counters: s.counters }
        observations = s.observations.map(rowFromJson)
        trainSum = s.trainSum
        trainN = s.trainN
        yield* progress.info(`restored checkpoint at step ${latest.value.step}`)
      }
      const trainer = yield* Effect.acquireRelease(
        Effect.tryPromise({
          try: () =>
            Trainer.create(
              {
                model,
                optimizer: { ...config.optimizer, peakLr: config.learningRate, totalSteps: config.steps, warmupSteps: Math.min(config.optimizer.warmupSteps, config.steps) },
                dp,
                dataset: data,
                backend: perf.backend,
                workers: 1,
                offThread: perf.offThread,
                microBatchSize: perf.microBatchSize,
                initSeed: config.initSeed,
                selectBatch: (step) => ({ indices: select(step) })
              },
              restored
            ),
          catch: (e) => fail(`sweep-run: starting the trainer (${perf.backend} backend): ${describeError(e)}`)
        }),
        (t) => Effect.promise(() => t.close())
      )
      const layoutNames = paramLayout(model).length
      const saveCheckpoint = Effect.gen(function* () {
        const s = trainer.getState()
        yield* checkpoints.save({
          step: s.step,
          tensors: { ...toTensors("params/", s.params), ...toTensors("adam_m/", s.adamM), ...toTensors("adam_v/", s.adamV) },
          state: { counters: s.counters, observations: observations.map(rowToJson), trainSum, trainN }
        })
      })
      yield* progress.info(
        `sweep point ${config.modelName} (${params} params, ${layoutNames} tensors): sigma-bar ${config.noiseBatchRatio}, lr ${config.learningRate}, ` +
          `${config.steps} steps of ${config.batchSize} of ${data.count} sequences (${((config.steps * config.batchSize) / data.count).toFixed(2)} epochs), eval on ${evalData.count}`
      )
      const loop = Effect.gen(function* () {
        while (trainer.step < config.steps) {
          const m = yield* Effect.uninterruptible(Effect.tryPromise({ try: () => trainer.trainStep(), catch: (e) => fail(`sweep-run: training step ${trainer.step}: ${describeError(e)}`) }))
          if (Number.isFinite(m.loss)) (trainSum += m.loss), trainN++
          const done = m.step + 1
          if (done % config.evalEvery === 0 || done === config.steps) {
            const loss = yield* Effect.tryPromise({
              try: () => evaluateLoss(model, trainer.flatParams(), evalData, evalIdx, perf.backend),
              catch: (e) => fail(`sweep-run: evaluating at step ${done}: ${describeError(e)}`)
            })
            observations.push({
              model: config.modelName,
              params,
              learning_rate: config.learningRate,
              noise_batch_ratio: config.noiseBatchRatio,
              batch_size: config.batchSize,
              step: done,
              loss,
              train_loss: trainN === 0 ? Number.NaN : trainSum / trainN,
              epochs: (done * config.batchSize) / data.count
            })
            trainSum = 0
            trainN = 0
            yield* progress.update(done, config.steps, { loss: Number(loss.toFixed(4)) })
          }
          if (done % perf.checkpointEvery === 0 && done < config.steps) yield* saveCheckpoint
          yield* Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))
        }
      })
      yield* loop.pipe(Effect.onInterrupt(() => Effect.ignore(saveCheckpoint)))
      return { observations }
    }).pipe(Effect.scoped, Effect.catchDefect((d) => Effect.fail(fail(`sweep-run: ${String(d)}`))))
})
