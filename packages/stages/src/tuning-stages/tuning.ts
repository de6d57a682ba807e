/**
 * The `dp-tune` stage: an accounted hyperparameter sweep on private data (here: the peak
 * learning rate of DP-SGD). Trials train the same model with DP-SGD on the same private
 * sequences, each with one candidate learning rate and fresh keyed batches and noise; each
 * trial is scored on PUBLIC text (Brown paragraphs, the public tokenizer), and only the
 * selected trial is released: its weights, its learning rate and its score. Scoring on public
 * data keeps the score a post-processing of the trial's DP weights.
 *
 * The release is accounted one of two ways (docs/privacy.md, P14), chosen from the config
 * alone before anything runs (so the choice reveals nothing about the data):
 * - composition: every candidate is trained once (K = number of candidates) and the release
 *   costs the composition of all trials' events (PLD);
 * - private selection (Papernot and Steinke 2022, "Hyperparameter Tuning with Renyi
 *   Differential Privacy"): K is drawn from a truncated negative binomial (default geometric
 *   with E[K] = number of candidates) by the keyed CSPRNG, each trial draws its candidate
 *   uniformly (keyed), and the release costs the selection bound on one trial's RDP
 *   (accounting/hyperparameter-selection.ts). K and the selected trial's index are never
 *   written to an output: the bound holds only while K stays secret.
 * `accounting: "auto"` (default) takes whichever gives the smaller epsilon at `delta`; the
 * selection output says which and gives both figures.
 *
 * Ledger: the stage records ONE event for the sweep. In composition mode it records, before
 * trial j starts, the composition of trials 1..j (the trials run so far are spent; the last
 * record is the whole sweep's event). In selection mode it records the selection event before
 * the first trial: it bounds whatever the sweep releases, and recording a growing
 * composition would put K in the store. A crash mid-sweep therefore leaves at least the
 * spend of the trials that ran; a resume recomputes the same trials (same keys, same release).
 */
import { Effect, Result, Schema } from "effect"
import { Artifact, PrivacyLedger, Progress, Stage, StageFailed } from "@dpipe/dsl"
import { privateSelection, selfComposed, type DpEvent } from "@dpipe/accounting/events"
import { describeTrialCount, geometricTrials, sampleTrialCount, TrialCount } from "@dpipe/accounting/hyperparameter-selection"
import { pldEpsilon } from "@dpipe/accounting/pld-accountant"
import { DEFAULT_RDP_ORDERS, rdpOfEvent } from "@dpipe/accounting/rdp"
import { epsilonFromRdp } from "@dpipe/accounting/rdp-conversion"
import { tokenizerFromJson } from "@dpipe/data/tokenizer/hf-json"
import { decodeModelConfig, ModelConfig, paramLayout } from "@dpipe/engine/model/gemma"
import { poissonBatch } from "@dpipe/engine/sampling/poisson"
import { evaluateLoss, Trainer } from "@dpipe/engine/train/loop"
import { keyedStream } from "@dpipe/random/keyed-random"
import { Sequences } from "@dpipe/stages/data-stages/tables"
import { TrainConfig, TrainPerf, trainingEvent } from "@dpipe/stages/training-stages/config"
import { publicProbe } from "@dpipe/stages/training-stages/stability"
import { formatDelta } from "@dpipe/stages/report-stages/statement"
import { loadSequences } from "@dpipe/stages/training-stages/dataset"

const withDefault = <S extends Schema.Top & { readonly Encoded: unknown }>(value: S["Encoded"]) => (s: S) => s.pipe(Schema.withDecodingDefaultKey(Effect.succeed(value)))
const Positive = Schema.Finite.check(Schema.isGreaterThan(0))

export const TuningSettings = Schema.Struct({
  /** "auto": the smaller of the two bounds; or force one. */
  accounting: Schema.Literals(["auto", "composition", "selection"]).pipe(withDefault("auto" as const)),
  /** K's distribution for private selection (truncated negative binomial); default geometric with E[K] = number of candidates. */
  trialCount: Schema.optionalKey(TrialCount),
  /** The delta at which the two bounds are compared and stated (the pipeline's budget delta). */
  delta: Schema.Finite.check(Schema.isGreaterThan(0), Schema.isLessThan(1)).pipe(withDefault(1e-6)),
  /** Public sequences (Brown paragraphs) each trial is scored on. */
  scoreSequences: Schema.Int.check(Schema.isGreaterThan(0)).pipe(withDefault(32))
})

export const TuningConfig = Schema.Struct({
  /** The trials' DP-SGD config; each trial replaces `optimizer.peakLr` by its candidate. */
  train: TrainConfig,
  /** Candidate peak learning rates. */
  learningRates: Schema.Array(Positive).check(Schema.makeFilter((a) => (a.length > 0 ? undefined : "list at least one candidate learning rate"))),
  /** What "best" means: the lowest mean loss on the public scoring sequences. */
  select: Schema.Literal("lowest public loss").pipe(withDefault("lowest public loss" as const)),
  tuning: TuningSettings.pipe(withDefault({}))
})
export type TuningConfig = typeof TuningConfig.Type

/** The sweep's accounting, a function of the config alone. */
export interface TuningPlan {
  readonly accounting: "composition" | "selection"
  /** The event the ledger records for the whole sweep. */
  readonly event: DpEvent
  readonly epsilon: number
  /** PLD epsilon of composing one trial per candidate. */
  readonly epsilonComposition: number
  /** RDP epsilon of the private selection (Infinity when RDP cannot account the trial). */
  readonly epsilonSelection: number
  readonly trialCount: TrialCount
  readonly delta: number
}

const trialCountOf = (c: TuningConfig): TrialCount => c.tuning.trialCount ?? geometricTrials(Math.max(1.0001, c.learningRates.length))

const plans = new Map<string, TuningPlan>()

/** Which bound the sweep's release is accounted by, and the event the ledger records. */
export const tuningPlan = (c: TuningConfig): Result.Result<TuningPlan, string> => {
  const memo = JSON.stringify([c.train, c.learningRates.length, c.tuning])
  const hit = plans.get(memo)
  if (hit !== undefined) return Result.succeed(hit)
  const trial = trainingEvent(c.train)
  const delta = c.tuning.delta
  const trialCount = trialCountOf(c)
  if (trialCount._tag === "PoissonTrials") return Result.fail("a sweep needs at least one trial: use a truncated negative binomial number of trials (geometric: eta 1), not Poisson (K = 0 would release nothing)")
  if (trialCount._tag === "FixedTrials") return Result.fail("a fixed number of trials is the composition mode: set tuning.accounting to \"composition\"")
  const compositionEvent = selfComposed(trial, c.learningRates.length)
  const comp = pldEpsilon(compositionEvent, delta)
  if (Result.isFailure(comp)) return Result.fail(`the PLD accountant cannot account a trial: ${comp.failure.message}`)
  const selectionEvent = privateSelection(trial, trialCount)
  const selRdp = rdpOfEvent(selectionEvent)
  const epsilonSelection = Result.isSuccess(selRdp) ? epsilonFromRdp(DEFAULT_RDP_ORDERS, selRdp.success, delta).epsilon : Number.POSITIVE_INFINITY
  const mode = c.tuning.accounting === "auto" ? (epsilonSelection < comp.success.epsilon ? "selection" : "composition") : c.tuning.accounting
  if (mode === "selection" && !Number.isFinite(epsilonSelection)) {
    return Result.fail(`private selection needs the trial's RDP, which it has not (${Result.isFailure(selRdp) ? selRdp.failure.message : "no finite epsilon"}): use composition`)
  }
  const plan: TuningPlan = {
    accounting: mode,
    event: mode === "selection" ? selectionEvent : compositionEvent,
    epsilon: mode === "selection" ? epsilonSelection : comp.success.epsilon,
    epsilonComposition: comp.success.epsilon,
    epsilonSelection,
    trialCount,
    delta
  }
  plans.set(memo, plan)
  return Result.succeed(plan)
}

/** The released selection: the chosen candidate, its score and how the release was accounted. */
export const TuningSelection = Schema.Struct({
  select: Schema.Literal("lowest public loss"),
  candidates: Schema.Array(Schema.Number),
  learningRate: Schema.Number,
  /** Mean loss of the selected model on the public scoring sequences. */
  score: Schema.Number,
  accounting: Schema.Literals(["composition", "selection"]),
  /** "every candidate once" or K's distribution (K itself is never released). */
  trials: Schema.String,
  delta: Schema.Number,
  /** Epsilon of the release by the chosen accounting. */
  epsilon: Schema.Number,
  epsilonComposition: Schema.Number,
  /** Null when RDP cannot account the trial. */
  epsilonSelection: Schema.NullOr(Schema.Number),
  text: Schema.String
})
export type TuningSelection = typeof TuningSelection.Type

const fmt = (e: number) => (e >= 0.001 ? e.toFixed(3) : e.toExponential(2))

export const selectionText = (s: Omit<TuningSelection, "text">): string => {
  const how =
    s.accounting === "composition"
      ? `Every one of the ${s.candidates.length} candidate learning rates was trained once with DP-SGD and the model with the lowest loss on public text was kept; the release is accounted by composing every trial (PLD): epsilon = ${fmt(s.epsilon)}`
      : `A random number of trials K (${s.trials}, drawn by the keyed CSPRNG and not released) each trained with DP-SGD at a candidate learning rate drawn uniformly from ${s.candidates.length}, and only the trial with the lowest loss on public text was kept; the release is accounted by private selection (Papernot and Steinke 2022, RDP): epsilon = ${fmt(s.epsilon)}`
  const other =
    s.accounting === "composition"
      ? s.epsilonSelection === null
        ? "Private selection does not apply (RDP cannot account a trial)."
        : `Private selection would have given epsilon = ${fmt(s.epsilonSelection)}.`
      : `Composing one trial per candidate would have given epsilon = ${fmt(s.epsilonComposition)}.`
  return `${how} at delta = ${formatDelta(s.delta)}. ${other} The selected learning rate is ${s.learningRate} (public loss ${s.score.toFixed(4)}).`
}

const fail = (message: string) => new StageFailed({ message })
const messageOf = (e: unknown) => String(e instanceof Error ? e.message : e)

export const dpTune = Stage.make({
  name: "dp-tune",
  version: "1",
  description: "An accounted DP-SGD learning-rate sweep: releases only the best trial (by public loss), accounted by composition or private selection, whichever is smaller.",
  config: TuningConfig,
  perf: TrainPerf,
  inputs: { sequences: Artifact.table(Sequences), tokenizer: Artifact.file("tokenizer", "json") },
  outputs: {
    weights: Artifact.tensors("weights"),
    model: Artifact.json("model-config", ModelConfig),
    selection: Artifact.json("tuning-selection", TuningSelection, { description: "the selected learning rate, its public score and the sweep's accounting" })
  },
  mechanism: { predict: (c: TuningConfig) => [Result.getOrThrow(Result.mapError(tuningPlan(c), (m) => new Error(m))).event] },
  notes: (c) => {
    const p = tuningPlan(c)
    if (Result.isFailure(p)) return [`tuning: ${p.failure}`]
    const s = p.success
    return [
      `tuning: ${c.learningRates.length} candidate learning rates, accounted by ${s.accounting === "composition" ? "composing every trial (PLD)" : `private selection (RDP; K ${describeTrialCount(s.trialCount)})`}: ` +
        `epsilon ${fmt(s.epsilon)} at delta ${formatDelta(s.delta)} (composition ${fmt(s.epsilonComposition)}, selection ${Number.isFinite(s.epsilonSelection) ? fmt(s.epsilonSelection) : "n/a"})`
    ]
  },
  run: ({ config, perf, inputs, stageKey, secretKey }) =>
    Effect.gen(function* () {
      const progress = yield* Progress
      const ledger = yield* PrivacyLedger
      const planned = tuningPlan(config)
      if (Result.isFailure(planned)) return yield* fail(`dp-tune: ${planned.failure}`)
      const plan = planned.success
      const c = config.train
      if (c.batchCap !== undefined) return yield* fail("dp-tune samples by plain Poisson sampling: unset train.batchCap")
      const tokenizer = yield* Effect.try({ try: () => tokenizerFromJson(new TextDecoder().decode(inputs.tokenizer)), catch: (e) => fail(`the tokenizer input is not a valid tokenizer.json: ${messageOf(e)}`) })
      const { tokens, seqLen, count: N } = yield* loadSequences(inputs.sequences)
      const model = yield* Effect.try({ try: () => decodeModelConfig({ ...c.model, vocabSize: tokenizer.vocabSize, contextLength: seqLen - 1 }), catch: (e) => fail(`invalid model shape: ${messageOf(e)}`) })
      const probe = yield* Effect.try({ try: () => publicProbe(tokenizer, seqLen, config.tuning.scoreSequences), catch: (e) => fail(messageOf(e)) })
      const probeIndices = Int32Array.from({ length: probe.count }, (_, i) => i)
      const layout = paramLayout(model)

      // The trials: every candidate once, or K ~ trialCount trials of uniformly drawn candidates.
      const m = config.learningRates.length
      const tuningKey = secretKey("tuning")
      const K = plan.accounting === "composition" ? m : sampleTrialCount(plan.trialCount, keyedStream(tuningKey, "trials", 0).uniform())
      const candidateOf = (j: number) => (plan.accounting === "composition" ? j : Math.min(m - 1, Math.floor(keyedStream(tuningKey, "candidate", j).uniform() * m)))
      const ledgerId = `${stageKey}/dp-tune`
      const full = yield* ledger.check({ id: ledgerId, event: plan.event })
      if (!full.withinBudget) return yield* fail(`the sweep would spend epsilon ${full.epsilon.toFixed(3)} > budget ${full.budgetEpsilon}: fewer candidates, fewer steps or more noise`)
      if (plan.accounting === "selection") yield* ledger.record({ id: ledgerId, event: plan.event, steps: c.steps })
      yield* progress.info(`dp-tune: ${m} candidate learning rates, accounted by ${plan.accounting} (epsilon ${fmt(plan.epsilon)}; the other bound ${fmt(plan.accounting === "selection" ? plan.epsilonComposition : plan.epsilonSelection)})`)

      let best: { lr: number; score: number; params: Float32Array } | undefined
      for (let j = 0; j < K; j++) {
        // Trials run so far are spent: record before this trial draws its first batch.
        if (plan.accounting === "composition") yield* ledger.record({ id: ledgerId, event: selfComposed(trainingEvent(c), j + 1), steps: (j + 1) * c.steps })
        const lr = config.learningRates[candidateOf(j)]!
        const samplerKey = secretKey(`trial-${j}/sampler`)
        const trainer = yield* Effect.tryPromise({
          try: () =>
            Trainer.create({
              model,
              optimizer: { ...c.optimizer, peakLr: lr, totalSteps: c.steps, warmupSteps: Math.min(c.optimizer.warmupSteps, c.steps) },
              dp: { clipNorm: c.clipNorm, noiseMultiplier: c.noiseMultiplier, expectedBatchSize: c.samplingRate * (c.datasetSize ?? N), noiseKey: secretKey(`trial-${j}/noise`) },
              dataset: { tokens, seqLen, count: N },
              backend: perf.backend,
              workers: perf.workers,
              offThread: perf.offThread,
              microBatchSize: perf.microBatchSize,
              initSeed: c.initSeed,
              selectBatch: (step) => ({ indices: Int32Array.from(poissonBatch(samplerKey, step, N, c.samplingRate)) })
            }),
          catch: (e) => fail(`starting trial ${j + 1}: ${messageOf(e)}`)
        })
        const trained = yield* Effect.tryPromise({
          try: async () => {
            while (trainer.step < c.steps) await trainer.trainStep()
            const params = trainer.flatParams()
            return { params, score: await evaluateLoss(model, params, probe, probeIndices, perf.backend) }
          },
          catch: (e) => fail(`trial ${j + 1}: ${messageOf(e)}`)
        }).pipe(Effect.ensuring(Effect.promise(() => trainer.close())))
        // Ties keep the earlier trial; a non-finite score never wins.
        if (Number.isFinite(trained.score) && (best === undefined || trained.score < best.score)) best = { lr, score: trained.score, params: trained.params }
        yield* progress.update(j + 1, K)
      }
      if (best === undefined) return yield* fail("every trial diverged (non-finite public loss): lower the candidate learning rates")
      const body: Omit<TuningSelection, "text"> = {
        select: "lowest public loss",
        candidates: [...config.learningRates],
        learningRate: best.lr,
        score: best.score,
        accounting: plan.accounting,
        trials: plan.accounting === "composition" ? "every candidate once" : describeTrialCount(plan.trialCount),
        delta: plan.delta,
        epsilon: plan.epsilon,
        epsilonComposition: plan.epsilonComposition,
        epsilonSelection: Number.isFinite(plan.epsilonSelection) ? plan.epsilonSelection : null
      }
      const weights: Record<string, { dtype: "float32"; shape: ReadonlyArray<number>; data: Float32Array }> = {}
      for (const s of layout) weights[s.name] = { dtype: "float32", shape: s.shape, data: best.params.slice(s.offset, s.offset + s.size) }
      return { weights, model, selection: { ...body, text: selectionText(body) } }
    })
})
