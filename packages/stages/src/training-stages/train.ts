/**
 * The training stages: `dp-train` (DP-SGD, a declared DP mechanism) and `train` (the
 * non-private baseline: the same code, model, data and compute, without clipping and
 * noise). Both wrap `train/loop.ts`'s Trainer with what a pipeline stage needs:
 *
 * - data: the packed sequences table (the privacy unit is one sequence) and the
 *   tokenizer (vocabulary size); context length = sequence length - 1;
 * - the DP execution plan: Poisson sampler keyed by `ctx.secretKey("sampler")`, noise
 *   keyed by `ctx.secretKey("noise")` (counter = step), normalisation by q*N, and the
 *   matching DP event (one config -> sampler, noise, event: docs/privacy.md, P3);
 * - checkpoints every `checkpointEvery` steps and on Ctrl-C (weights, Adam moments,
 *   step, counters, metrics so far); the sampler and the noise need no state because
 *   they are pure functions of (key, step). Resume is bit-identical for the same
 *   backend and worker count;
 * - the privacy ledger: the spend so far is recorded under one id at every checkpoint
 *   (upserted, so a resumed run never counts twice), and the stage stops before the
 *   step that would cross the pipeline's budget;
 * - the stability guard (./stability.ts, DP mode only): the DP weights' loss on public
 *   text after every step; on divergence, rollback to the last good checkpoint with a
 *   lower learning rate. Steps count as EXECUTED steps (discarded ones included): the
 *   sampler, the noise, the schedule, the ledger and the budget all run on them;
 * - outputs: weights (dp for dp-train), model config, the execution plan, and the
 *   per-step metrics table (private). Wall-clock throughput is telemetry (progress line,
 *   run record, log), never in an output, so a resumed run writes the same bytes.
 */
import { Effect, Option, Schema } from "effect"
import { Artifact, Checkpoints, PrivacyLedger, Progress, Stage, StageFailed, type TensorMap } from "@dpipe/dsl"
import { DEFAULT_RDP_ORDERS, rdpOfEvent } from "@dpipe/accounting/rdp"
import { epsilonFromRdp } from "@dpipe/accounting/rdp-conversion"
import { epsilonProgress } from "../privacy/epsilon-progress.ts"
import { Sequences } from "@dpipe/stages/data-stages/tables"
import { ModelConfig, decodeModelConfig, paramLayout } from "@dpipe/engine/model/gemma"
import { poissonBatch } from "@dpipe/engine/sampling/poisson"
import { PAD_INDEX, truncatedPoissonBatch } from "@dpipe/engine/sampling/truncated"
import { tokenizerFromJson } from "@dpipe/data/tokenizer/hf-json"
import { Trainer, TrainCountersSchema, type StepMetrics, type TrainState } from "@dpipe/engine/train/loop"
import { backendSummary } from "@dpipe/engine/train/backend"
import { Result } from "effect"
import { ExecutionPlan, TrainConfig, TrainPerf, stepEvent, trainingEvent } from "./config.ts"
import { describeEstimate, trainingPreflight } from "./estimate.ts"
import { TrainMetrics, type TrainMetricsRow } from "./tables.ts"
import { loadSequences } from "./dataset.ts"
import { GuardState, PersistentDivergence, StabilityGuard, type GuardEvent } from "./stability.ts"

type Mode = "dp" | "non-private"

const CheckpointState = Schema.Struct({
  counters: TrainCountersSchema,
  metrics: Schema.Array(Schema.Unknown),
  /** The stability guard's state; the checkpoint's `step` counts executed steps. */
  guard: Schema.optionalKey(GuardState)
})

const fail = (message: string) => new StageFailed({ message })
const describeError = (e: unknown): string =>
  typeof e === "object" && e !== null && "message" in e && typeof e.message === "string" && e.message !== "" ? e.message : String(e)

/** Metrics rows go into checkpoint JSON, which has no NaN or Infinity: keep them as strings. */
const rowToJson = (r: TrainMetricsRow): Record<string, number | string> =>
  Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Number.isFinite(v) ? v : String(v)]))
const rowFromJson = (r: unknown): TrainMetricsRow =>
  Object.fromEntries(Object.entries(r as Record<string, number | string>).map(([k, v]) => [k, typeof v === "string" ? Number(v) : v])) as TrainMetricsRow

const toTensors = (prefix: string, named: Readonly<Record<string, Float32Array>>, shapes: ReadonlyMap<string, ReadonlyArray<number>>): Record<string, { dtype: "float32"; shape: ReadonlyArray<number>; data: Float32Array }> => {
  const out: Record<string, { dtype: "float32"; shape: ReadonlyArray<number>; data: Float32Array }> = {}
  for (const [k, v] of Object.entries(named)) out[`${prefix}${k}`] = { dtype: "float32", shape: shapes.get(k) ?? [v.length], data: v }
  return out
}

const fromTensors = (prefix: string, tensors: TensorMap): Record<string, Float32Array> => {
  const out: Record<string, Float32Array> = {}
  for (const [k, t] of Object.entries(tensors)) if (k.startsWith(prefix) && t.data instanceof Float32Array) out[k.slice(prefix.length)] = t.data
  return out
}

const metricsRow = (m: StepMetrics, epsilon: number, g?: GuardEvent): TrainMetricsRow => ({
  step: m.step,
  batch_size: m.realizedBatchSize,
  padding: m.padding,
  loss: m.loss,
  grad_norm_mean: m.gradNormMean,
  grad_norm_p50: m.gradNormP50,
  grad_norm_p90: m.gradNormP90,
  clipped_fraction: m.clippedFraction,
  non_finite: m.nonFinite,
  lr: m.lr,
  epsilon,
  probe_loss: g?.probeLoss ?? Number.NaN,
  spike: g === undefined || g.verdict.kind === "ok" ? 0 : 1,
  rollback: g?.rolledBack === undefined ? 0 : 1,
  discarded: 0
})

const makeTrainStage = (mode: Mode) =>
  Stage.make({
    name: mode === "dp" ? "dp-train" : "train",
    version: "1",
    description:
      mode === "dp"
        ? "DP-SGD: Poisson batches, per-example clipping, Gaussian noise, AdamW; records its spend in the privacy ledger."
        : "Non-private baseline: the same model, data and steps without clipping or noise (its weights are private).",
    config: TrainConfig,
    perf: TrainPerf,
    inputs: { sequences: Artifact.table(Sequences), tokenizer: Artifact.file("tokenizer", "json") },
    outputs: {
      weights: Artifact.tensors("weights"),
      model: Artifact.json("model-config", ModelConfig),
      plan: Artifact.json("execution-plan", ExecutionPlan),
      metrics: Artifact.table(TrainMetrics, { label: "private", description: "per-step loss, norms, clipped fraction: private (unnoised)" })
    },
    ...(mode === "dp" ? { mechanism: { predict: (c: TrainConfig) => [trainingEvent(c)] } } : {}),
    notes: (c, p) => describeEstimate(c, p, mode === "dp"),
    preflight: (c, p) => trainingPreflight(c, p, mode === "dp"),
    run: ({ config, perf, inputs, stageKey, secretKey }) =>
      Effect.gen(function* () {
        const progress = yield* Progress
        const checkpoints = yield* Checkpoints
        const ledger = yield* PrivacyLedger
        const tokenizer = yield* Effect.try({
          try: () => tokenizerFromJson(new TextDecoder().decode(inputs.tokenizer)),
          catch: (e) => fail(`the tokenizer input is not a valid tokenizer.json: ${String(e)}`)
        })
        const data = yield* loadSequences(inputs.sequences)
        const N = data.count
        if (config.batchCap !== undefined && config.datasetSize !== N) {
          return yield* fail(`batchCap needs the dataset size the accountant assumes: set train.datasetSize=${N} (it is ${config.datasetSize ?? "unset"}); the truncated-Poisson event depends on N`)
        }
        if (config.model.vocabSize !== undefined && config.model.vocabSize !== tokenizer.vocabSize) {
          return yield* fail(`the model expects a vocabulary of ${config.model.vocabSize} but the tokenizer has ${tokenizer.vocabSize}: set tokenizer.vocabSize to match, or unset the model's vocabSize`)
        }
        if (config.model.contextLength !== undefined && config.model.contextLength !== data.seqLen - 1) {
          return yield* fail(`the model expects a context of ${config.model.contextLength} tokens but the sequences have ${data.seqLen} (context ${data.seqLen - 1}): set pack.seqLen=${config.model.contextLength + 1}`)
        }
        const model = yield* Effect.try({
          try: () => decodeModelConfig({ ...config.model, vocabSize: tokenizer.vocabSize, contextLength: data.seqLen - 1 }),
          catch: (e) => fail(`invalid model shape: ${String(e)}`)
        })
        // The normaliser q*N uses the declared public N when there is one; the sampler
        // always runs over the N actual sequences (docs/privacy.md, P11).
        const publicN = config.datasetSize
        const expectedBatchSize = config.samplingRate * (publicN ?? N)
        const samplerKey = secretKey("sampler")
        const dp = mode === "dp" ? { clipNorm: config.clipNorm, noiseMultiplier: config.noiseMultiplier, expectedBatchSize, noiseKey: secretKey("noise") } : null
        const ledgerId = `${stageKey}/dp-train`

        // Epsilon per step for the metrics table: RDP of one step times t (cheap). The
        // progress line shows the authoritative accountant's (PLD) run epsilon: exact at
        // step 1 and at the last step (the ledger checks below), and at a checkpoint when
        // one more check costs at most 2% of the time since the last one (a PLD evaluation
        // takes a large fraction of a second, more on a loaded machine); estimated in
        // between (epsilon-progress.ts). Display only: no output depends on it.
        let checkMs = Date.now()
        const first = mode === "dp" ? yield* ledger.check({ id: ledgerId, event: trainingEvent(config, 1) }) : undefined
        checkMs = Date.now() - checkMs
        const delta = first?.delta
        const rdp1 = Result.getOrUndefined(rdpOfEvent(stepEvent(config)))
        const epsilonAt = (t: number): number =>
          mode !== "dp" || delta === undefined || rdp1 === undefined ? Number.NaN : epsilonFromRdp(DEFAULT_RDP_ORDERS, rdp1.map((r) => r * t), delta).epsilon
        const shown = epsilonProgress(rdp1 !== undefined ? epsilonAt : undefined)
        if (first !== undefined) shown.anchor(1, first.epsilon)

        // Stop before the step that would cross the budget.
        let maxSteps = config.steps
        if (mode === "dp") {
          const full = yield* ledger.check({ id: ledgerId, event: trainingEvent(config, config.steps) })
          shown.anchor(config.steps, full.epsilon)
          if (!full.withinBudget) {
            let lo = 0
            let hi = config.steps
            while (lo < hi) {
              const mid = Math.ceil((lo + hi) / 2)
              const c = yield* ledger.check({ id: ledgerId, event: trainingEvent(config, mid) })
              shown.anchor(mid, c.epsilon)
              if (c.withinBudget) lo = mid
              else hi = mid - 1
            }
            maxSteps = lo
            yield* progress.info(`the budget allows ${lo} of ${config.steps} steps (epsilon ${full.epsilon.toFixed(3)} > ${full.budgetEpsilon}); stopping before the step that would cross it`)
          }
        }

        const layout = paramLayout(model)
        const shapes = new Map(layout.map((s) => [s.name, s.shape] as const))
        const latest = yield* checkpoints.latest
        let metrics: Array<TrainMetricsRow> = []
        let restored: TrainState | undefined
        let restoredGuard: GuardState | undefined
        if (Option.isSome(latest)) {
          const s = Schema.decodeUnknownSync(CheckpointState)(latest.value.state)
          const t = latest.value.tensors
          restoredGuard = s.guard
          restored = {
            step: s.guard?.progress ?? latest.value.step,
            params: fromTensors("params/", t),
            adamM: fromTensors("adam_m/", t),
            adamV: fromTensors("adam_v/", t),
            counters: s.counters,
            executed: latest.value.step,
            lrScale: s.guard?.lrScale ?? 1
          }
          metrics = s.metrics.map(rowFromJson)
          yield* progress.info(`restored checkpoint at step ${latest.value.step}`)
        }

        const trainer = yield* Effect.acquireRelease(
          Effect.tryPromise({
            try: () =>
              Trainer.create(
                {
                  model,
                  optimizer: { ...config.optimizer, totalSteps: config.steps, warmupSteps: Math.min(config.optimizer.warmupSteps, config.steps) },
                  dp,
                  dataset: data,
                  backend: perf.backend,
                  workers: perf.workers,
                  offThread: perf.offThread,
                  microBatchSize: perf.microBatchSize,
                  initSeed: config.initSeed,
                  selectBatch: (step) => {
                    if (config.batchCap !== undefined) {
                      const b = truncatedPoissonBatch(samplerKey, step, N, config.samplingRate, config.batchCap)
                      return { indices: Int32Array.from(Array.from(b.indices).filter((i) => i !== PAD_INDEX)), padding: b.indices.length - b.realCount }
                    }
                    return { indices: Int32Array.from(poissonBatch(samplerKey, step, N, config.samplingRate)) }
                  }
                },
                restored
              ),
            catch: (e) => fail(`starting the trainer (${perf.backend} backend): ${describeError(e)}`)
          }),
          (t) => Effect.promise(() => t.close())
        )
        const guard =
          mode === "dp" && config.stability.enabled
            ? yield* Effect.acquireRelease(
                Effect.tryPromise({
                  try: () =>
                    StabilityGuard.create({ settings: config.stability, tokenizer, model, seqLen: data.seqLen, backend: perf.backend, trainer, restored: restoredGuard, peakLr: config.optimizer.peakLr }),
                  catch: (e) => fail(`starting the stability guard: ${describeError(e)}`)
                }),
                (g) => Effect.sync(() => g.dispose())
              )
            : undefined

        // Every executed step counts (P12): a rollback's discarded steps were taken and their noise drawn.
        const recordSpend = (executed: number) => (mode === "dp" ? ledger.record({ id: ledgerId, event: trainingEvent(config, executed), steps: executed }) : Effect.void)
        const saveCheckpoint = Effect.gen(function* () {
          const s = trainer.getState()
          const executed = s.executed ?? s.step
          yield* recordSpend(executed)
          yield* checkpoints.save({
            step: executed,
            tensors: { ...toTensors("params/", s.params, shapes), ...toTensors("adam_m/", s.adamM, shapes), ...toTensors("adam_v/", s.adamV, shapes) },
            state: { counters: s.counters, metrics: metrics.map(rowToJson), ...(guard === undefined ? {} : { guard: guard.snapshot(trainer) }) }
          })
        })

        yield* progress.info(
          `${mode === "dp" ? "DP-SGD" : "non-private"} training: ${N} sequences of ${data.seqLen} tokens, q=${config.samplingRate} (expected batch ${expectedBatchSize.toFixed(1)}), ` +
            `${maxSteps} steps, backend ${backendSummary(perf.backend)}, ${perf.workers} worker(s)` + (mode === "dp" ? `, C=${config.clipNorm}, sigma=${config.noiseMultiplier}` : "")
        )
        // Wall-clock throughput of this invocation: telemetry, not part of any output.
        let timedTokens = 0
        let timedMs = 0
        let timedSteps = 0
        let lastExact = Date.now()
        const loop = Effect.gen(function* () {
          while (trainer.executed < maxSteps) {
            // A step (and the guard's verdict on it) is uninterruptible: Ctrl-C lands between steps, on a consistent state.
            const { m, g } = yield* Effect.uninterruptible(
              Effect.gen(function* () {
                const m = yield* Effect.tryPromise({ try: () => trainer.trainStep(), catch: (e) => fail(`training step ${trainer.executed}: ${describeError(e)}`) })
                if (guard === undefined) return { m, g: undefined }
                const g = yield* Effect.try({
                  try: () => guard.afterStep(trainer),
                  catch: (e) => (e instanceof PersistentDivergence ? fail(e.message) : fail(`stability guard at step ${m.step}: ${describeError(e)}`))
                }).pipe(Effect.tapError(() => recordSpend(trainer.executed)))
                return { m, g }
              })
            )
            const eps = epsilonAt(m.step + 1)
            const checkpointDue = (m.step + 1) % perf.checkpointEvery === 0 && m.step + 1 < maxSteps && (guard === undefined || guard.calm)
            // At a checkpoint, an exact epsilon for the progress line when it is cheap enough
            // (see above); privacy counts executed steps (discarded ones included).
            if (checkpointDue && mode === "dp" && checkMs <= 0.02 * (Date.now() - lastExact)) {
              const t0 = Date.now()
              shown.anchor(trainer.executed, (yield* ledger.check({ id: ledgerId, event: trainingEvent(config, trainer.executed) })).epsilon)
              lastExact = Date.now()
              checkMs = lastExact - t0
            }
            const runEps = shown.at(trainer.executed)
            metrics.push(metricsRow(m, eps, g))
            if (g?.rolledBack !== undefined) {
              const { from, to, lrScale, toProgress } = g.rolledBack
              metrics = metrics.map((r) => (r.step >= from && r.step < to ? { ...r, discarded: 1 } : r))
              yield* progress.info(
                `divergence at step ${m.step + 1} (${g.verdict.kind === "diverged" ? g.verdict.reason : ""}): rolled back to the last good checkpoint (update ${toProgress}), learning rate x${lrScale}; ` +
                  `the ${to - from} discarded steps stay counted in the privacy ledger`
              )
            }
            timedTokens += (m.tokensPerSec * m.stepMs) / 1000
            timedMs += m.stepMs
            timedSteps++
            yield* progress.update(m.step + 1, maxSteps, {
              loss: Number(m.loss.toFixed(4)),
              ...(Number.isFinite(runEps.epsilon) ? { eps: Number(runEps.epsilon.toFixed(3)), epsAccountant: `${first?.accountant ?? "ledger"}${runEps.exact ? "" : ", est."}` } : {}),
              ...(mode === "dp" ? { clipped: Number(m.clippedFraction.toFixed(3)) } : {}),
              "tok/s": Math.round(m.tokensPerSec)
            })
            if (checkpointDue) {
              yield* saveCheckpoint
              // A checkpoint written while the probe loss is calm is the rollback target.
              guard?.markGood(trainer)
            }
            // A step's kernels run synchronously and resolve at once, so without a macrotask
            // between steps the SIGINT handler would not run until the loop ended.
            yield* Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))
          }
        })
        yield* loop.pipe(Effect.onInterrupt(() => Effect.ignore(saveCheckpoint)))
        // The final ledger entry and checkpoint are written whole even if Ctrl-C lands now.
        yield* Effect.uninterruptible(saveCheckpoint)
        if (timedSteps > 0) {
          yield* progress.telemetry({ tokensPerSec: Math.round(timedTokens / (timedMs / 1000)), trainSeconds: Number((timedMs / 1000).toFixed(3)), stepsTimed: timedSteps })
        }
        const final = trainer.getState()
        const plan: ExecutionPlan = {
          unit: "sequence",
          sampler: config.batchCap !== undefined ? "truncated-poisson" : "poisson",
          samplingRate: config.samplingRate,
          ...(config.batchCap !== undefined ? { batchCap: config.batchCap } : {}),
          // Only the declared public N (and q*N from it) goes into this dp output.
          ...(publicN !== undefined ? { datasetSize: publicN, expectedBatchSize } : {}),
          normaliser: publicN !== undefined ? "public-n" : "actual-n",
          clipNorm: mode === "dp" ? config.clipNorm : Number.POSITIVE_INFINITY,
          noiseMultiplier: mode === "dp" ? config.noiseMultiplier : 0,
          noiseStd: mode === "dp" ? config.noiseMultiplier * config.clipNorm : 0,
          neighbouring: config.neighbouring,
          steps: config.steps,
          stepsDone: final.executed ?? final.step,
          event: mode === "dp" ? trainingEvent(config, final.executed ?? final.step) : null
        }
        return {
          weights: toTensors("", final.params, shapes),
          model,
          plan,
          metrics
        }
      }).pipe(Effect.scoped, Effect.catchDefect((d) => Effect.fail(fail(String(d)))))
  })

export const dpTrain = makeTrainStage("dp")
export const train = makeTrainStage("non-private")
