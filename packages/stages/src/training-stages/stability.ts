/**
 * The stability guard of DP training (docs/privacy.md, P12): after every DP-SGD step it
 * scores the DP weights on a fixed probe of PUBLIC text (Brown corpus paragraphs,
 * tokenized with the run's public tokenizer and packed like the training sequences),
 * feeds that loss to the spike/divergence rule of `@dpipe/engine/train/stability`, and
 * on divergence rolls the weights back to the last good checkpoint and continues with
 * the learning rate scaled by `lrFactor`, at most `maxRollbacks` times; one divergence
 * more fails the stage with an error naming the fix.
 *
 * Why public text and not the training loss: the loss on the private batch is computed
 * without noise (P6), and a rollback decided on it would make what the mechanism does
 * depend on private data beyond the clipped, noised sum (P5), a leak no accountant
 * covers. The probe loss is a function of the DP weights and public data only: a
 * post-processing of DP releases, free in privacy, and the rollbacks are adaptive
 * choices between steps, which the composition the accountant computes allows.
 *
 * Privacy of the rollback itself: a discarded step was executed, its noisy gradient
 * drawn; it stays in the ledger (spent privacy is never reclaimed). The steps after a
 * rollback draw the batch and noise of the next EXECUTED step index, never those of a
 * discarded one: reusing a noise draw for a second gradient would release the difference
 * of two gradients without noise. The run stops after the configured number of executed
 * steps, so the accounted event is exactly the planned one; a rollback costs progress
 * (updates that count), never extra privacy.
 */
import { Effect, Schema } from "effect"
import { brownTexts } from "@dpipe/data/public-corpora"
import type { BpeTokenizer } from "@dpipe/data/tokenizer/encoder"
import type { ModelConfig } from "@dpipe/engine/model/gemma"
import type { SequenceDataset } from "@dpipe/engine/train/engine"
import { ProbeLoss } from "@dpipe/engine/train/probe"
import { DetectorState, defaultStabilityRule, initialDetectorState, observe, type StabilityRule, type Verdict } from "@dpipe/engine/train/stability"
import type { BackendName } from "@dpipe/engine/train/backend"
import type { Trainer, TrainState } from "@dpipe/engine/train/loop"

const withDefault = <S extends Schema.Top & { readonly Encoded: unknown }>(value: S["Encoded"]) => (s: S) => s.pipe(Schema.withDecodingDefaultKey(Effect.succeed(value)))
const d = defaultStabilityRule

/** The guard's settings (semantic: they change which updates the DP model keeps). */
export const StabilitySettings = Schema.Struct({
  /** Guard DP training (the non-private baseline is never guarded). */
  enabled: Schema.Boolean.pipe(withDefault(true)),
  window: Schema.Int.check(Schema.isGreaterThanOrEqualTo(3)).pipe(withDefault(d.window)),
  minHistory: Schema.Int.check(Schema.isGreaterThanOrEqualTo(3)).pipe(withDefault(d.minHistory)),
  k: Schema.Finite.check(Schema.isGreaterThan(0)).pipe(withDefault(d.k)),
  relativeFloor: Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0)).pipe(withDefault(d.relativeFloor)),
  consecutiveSpikes: Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)).pipe(withDefault(d.consecutiveSpikes)),
  initialMargin: Schema.Finite.check(Schema.isGreaterThan(0)).pipe(withDefault(d.initialMargin)),
  /** Learning-rate factor applied at each rollback. */
  lrFactor: Schema.Finite.check(Schema.isGreaterThan(0), Schema.isLessThan(1)).pipe(withDefault(0.5)),
  /** Rollbacks allowed; the next divergence fails the stage. */
  maxRollbacks: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)).pipe(withDefault(3)),
  /** Public probe sequences scored after every step. */
  probeSequences: Schema.Int.check(Schema.isGreaterThan(0)).pipe(withDefault(32))
})
export type StabilitySettings = typeof StabilitySettings.Type

export const ruleOf = (s: StabilitySettings): StabilityRule => ({
  window: s.window,
  minHistory: s.minHistory,
  k: s.k,
  relativeFloor: s.relativeFloor,
  consecutiveSpikes: s.consecutiveSpikes,
  initialMargin: s.initialMargin
})

/**
 * `count` sequences of `seqLen` tokens of public text: Brown corpus paragraphs in file
 * order, each encoded and followed by <eos>, concatenated and cut (as `pack` does).
 */
export const publicProbe = (tokenizer: BpeTokenizer, seqLen: number, count: number): SequenceDataset => {
  const tokens = new Int32Array(count * seqLen)
  let n = 0
  for (const text of brownTexts()) {
    for (const id of [...tokenizer.encode(text), tokenizer.eosId]) {
      if (n === tokens.length) return { tokens, seqLen, count }
      tokens[n++] = id
    }
  }
  if (n < tokens.length) throw new RangeError(`the Brown corpus gave only ${n} tokens, fewer than the ${tokens.length} the probe needs: lower stability.probeSequences`)
  return { tokens, seqLen, count }
}

/** What the guard keeps in each checkpoint (so a resumed run judges as an uninterrupted one). */
export const GuardState = Schema.Struct({
  detector: DetectorState,
  rollbacks: Schema.Int,
  lrScale: Schema.Finite,
  /** Update count of the checkpointed weights (the checkpoint's `step` counts executed steps). */
  progress: Schema.Int
})
export type GuardState = typeof GuardState.Type

/** A divergence the guard handled: where, why, and what it did. */
export interface GuardEvent {
  readonly verdict: Verdict
  readonly probeLoss: number
  /** Set when this step triggered a rollback: the executed-step range discarded, [from, to). */
  readonly rolledBack?: { readonly from: number; readonly to: number; readonly lrScale: number; readonly toProgress: number }
}

/** Raised when divergence persists after `maxRollbacks` rollbacks. */
export class PersistentDivergence extends Error {}

export class StabilityGuard {
  private detector: DetectorState
  private rollbacks: number
  private good: { readonly state: TrainState; readonly detector: DetectorState }
  private readonly rule: StabilityRule
  private readonly settings: StabilitySettings
  private readonly probe: ProbeLoss
  private readonly peakLr: number

  private constructor(settings: StabilitySettings, probe: ProbeLoss, trainer: Trainer, restored: GuardState | undefined, peakLr: number) {
    this.settings = settings
    this.rule = ruleOf(settings)
    this.probe = probe
    this.peakLr = peakLr
    this.detector = restored?.detector ?? initialDetectorState
    this.rollbacks = restored?.rollbacks ?? 0
    this.good = { state: trainer.getState(), detector: this.detector }
  }

  /** Builds the probe and scores the starting weights (unless a checkpoint's guard state is restored). */
  static async create(o: {
    readonly settings: StabilitySettings
    readonly tokenizer: BpeTokenizer
    readonly model: ModelConfig
    readonly seqLen: number
    readonly backend: BackendName
    readonly trainer: Trainer
    readonly restored: GuardState | undefined
    readonly peakLr: number
  }): Promise<StabilityGuard> {
    const probe = await ProbeLoss.create(o.model, publicProbe(o.tokenizer, o.seqLen, o.settings.probeSequences), o.backend)
    const g = new StabilityGuard(o.settings, probe, o.trainer, o.restored, o.peakLr)
    if (o.restored === undefined) {
      g.detector = observe(g.rule, g.detector, probe.loss(o.trainer.flatParams())).state
      g.good = { state: g.good.state, detector: g.detector }
    }
    return g
  }

  get rollbackCount(): number {
    return this.rollbacks
  }

  /** True when the last value was not a spike (a checkpoint taken now is a good one). */
  get calm(): boolean {
    return this.detector.streak === 0
  }

  /** The guard's state for a checkpoint of `trainer`'s current state. */
  snapshot(trainer: Trainer): GuardState {
    const s = trainer.getState()
    return { detector: this.detector, rollbacks: this.rollbacks, lrScale: s.lrScale ?? 1, progress: s.step }
  }

  /** Remembers the trainer's current state as the rollback target (call when a checkpoint is written while calm). */
  markGood(trainer: Trainer): void {
    this.good = { state: trainer.getState(), detector: this.detector }
  }

  /**
   * Scores the weights after a step; on divergence rolls `trainer` back and lowers its
   * learning rate. Throws PersistentDivergence past `maxRollbacks`.
   */
  afterStep(trainer: Trainer): GuardEvent {
    const probeLoss = this.probe.loss(trainer.flatParams())
    const r = observe(this.rule, this.detector, probeLoss)
    if (r.verdict.kind !== "diverged") {
      this.detector = r.state
      return { verdict: r.verdict, probeLoss }
    }
    const from = this.good.state.executed ?? this.good.state.step
    const to = trainer.executed
    if (this.rollbacks >= this.settings.maxRollbacks) {
      const lr = this.peakLr * (trainer.getState().lrScale ?? 1)
      throw new PersistentDivergence(
        `DP training diverged at executed step ${to} (${r.verdict.reason}, probe loss on public text) after ${this.rollbacks} rollback(s) to the last good checkpoint, ` +
          `each scaling the learning rate by ${this.settings.lrFactor} (peak now ${lr.toPrecision(3)}): lower optimizer.peakLr, raise the expected batch (samplingRate) ` +
          `or allow more rollbacks (stability.maxRollbacks). The ${to} executed steps stay counted in the privacy ledger.`
      )
    }
    this.rollbacks++
    const lrScale = (trainer.getState().lrScale ?? 1) * this.settings.lrFactor
    trainer.rollBack(this.good.state, lrScale)
    this.detector = { ...this.good.detector, spikes: r.state.spikes }
    return { verdict: r.verdict, probeLoss, rolledBack: { from, to, lrScale, toProgress: this.good.state.step } }
  }

  dispose(): void {
    this.probe.dispose()
  }
}
