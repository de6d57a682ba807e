/**
 * Loss-spike and divergence detection for DP training: a robust rule on a noisy loss
 * series, fed one value per step. Pure and serialisable (the state goes into checkpoints,
 * so a resumed run judges the next steps exactly as an uninterrupted one).
 *
 * The rule (stated in docs/privacy.md, P12, and the README):
 * - baseline: the median m and the median absolute deviation MAD of the last `window`
 *   accepted (non-spike) values; the robust standard deviation is 1.4826 * MAD (the
 *   normal-consistent scale of the MAD: Hampel 1974; Rousseeuw & Croux 1993);
 * - a value x is a **spike** when x > m + max(k * 1.4826 * MAD, relativeFloor * |m|),
 *   judged only once `minHistory` values are in the window. The floor keeps a nearly
 *   flat series (MAD ~ 0) from calling every small uptick a spike. Spikes do not enter
 *   the window, so a run of them cannot drag the baseline up;
 * - **divergence** is any of: a non-finite value; `consecutiveSpikes` spikes in a row;
 *   a value above the first value observed (the untrained model's loss) by more than
 *   `initialMargin` of it (training made the model worse than where it started).
 *
 * What the series is, and so what the rule costs in privacy, is the caller's choice:
 * the training stage feeds it the DP model's loss on public text (P12), a
 * post-processing of DP releases, never the unnoised loss on the private batch.
 */
import { Schema } from "effect"

export const StabilityRule = Schema.Struct({
  /** Trailing window of accepted values for the median and the MAD. */
  window: Schema.Int.check(Schema.isGreaterThanOrEqualTo(3)),
  /** Values needed in the window before spikes are judged. */
  minHistory: Schema.Int.check(Schema.isGreaterThanOrEqualTo(3)),
  /** Threshold in robust standard deviations (1.4826 MAD) above the median. */
  k: Schema.Finite.check(Schema.isGreaterThan(0)),
  /** Least threshold above the median, as a fraction of |median|. */
  relativeFloor: Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0)),
  /** This many spikes in a row are a divergence. */
  consecutiveSpikes: Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)),
  /** A value above (1 + initialMargin) * first value is a divergence. */
  initialMargin: Schema.Finite.check(Schema.isGreaterThan(0))
})
export type StabilityRule = typeof StabilityRule.Type

export const defaultStabilityRule: StabilityRule = {
  window: 20,
  minHistory: 8,
  k: 6,
  relativeFloor: 0.03,
  consecutiveSpikes: 3,
  initialMargin: 0.1
}

/** The detector's whole state (plain JSON: finite numbers only). */
export const DetectorState = Schema.Struct({
  /** The first value observed, null before any. */
  initial: Schema.NullOr(Schema.Finite),
  /** Accepted values, oldest first, at most `window`. */
  window: Schema.Array(Schema.Finite),
  /** Spikes in a row ending at the last value. */
  streak: Schema.Int,
  /** Spikes seen in all. */
  spikes: Schema.Int
})
export type DetectorState = typeof DetectorState.Type

export const initialDetectorState: DetectorState = { initial: null, window: [], streak: 0, spikes: 0 }

export type Verdict =
  | { readonly kind: "ok"; readonly threshold: number }
  | { readonly kind: "spike"; readonly threshold: number; readonly streak: number }
  | { readonly kind: "diverged"; readonly reason: string }

const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  const mid = s.length >> 1
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2
}

/** 1.4826 makes the MAD a consistent estimate of a normal's standard deviation. */
export const MAD_SCALE = 1.4826

/** The spike threshold for the current window (Infinity while it is shorter than `minHistory`). */
export const spikeThreshold = (rule: StabilityRule, window: ReadonlyArray<number>): number => {
  if (window.length < rule.minHistory) return Number.POSITIVE_INFINITY
  const m = median(window)
  const mad = median(window.map((x) => Math.abs(x - m)))
  return m + Math.max(rule.k * MAD_SCALE * mad, rule.relativeFloor * Math.abs(m))
}

/** Judges `value` and returns the verdict with the next state (the input state is not changed). */
export const observe = (rule: StabilityRule, state: DetectorState, value: number): { readonly verdict: Verdict; readonly state: DetectorState } => {
  if (!Number.isFinite(value)) return { verdict: { kind: "diverged", reason: `the loss is ${value}` }, state }
  if (state.initial === null) return { verdict: { kind: "ok", threshold: Number.POSITIVE_INFINITY }, state: { ...state, initial: value, window: [value] } }
  const ceiling = state.initial * (1 + rule.initialMargin)
  if (value > ceiling) {
    return {
      verdict: { kind: "diverged", reason: `the loss ${value.toFixed(4)} is above the untrained model's ${state.initial.toFixed(4)} by more than ${(rule.initialMargin * 100).toFixed(0)}%` },
      state
    }
  }
  const threshold = spikeThreshold(rule, state.window)
  if (value > threshold) {
    const streak = state.streak + 1
    const next = { ...state, streak, spikes: state.spikes + 1 }
    if (streak >= rule.consecutiveSpikes) {
      return { verdict: { kind: "diverged", reason: `${streak} loss spikes in a row (the last ${value.toFixed(4)} > threshold ${threshold.toFixed(4)})` }, state: next }
    }
    return { verdict: { kind: "spike", threshold, streak }, state: next }
  }
  const window = [...state.window, value].slice(-rule.window)
  return { verdict: { kind: "ok", threshold }, state: { ...state, window, streak: 0 } }
}

/** Runs the detector over a whole series (tests, reports): the verdict of every value. */
export const scanSeries = (rule: StabilityRule, values: ReadonlyArray<number>, from: DetectorState = initialDetectorState): ReadonlyArray<Verdict> => {
  let s = from
  const out: Array<Verdict> = []
  for (const v of values) {
    const r = observe(rule, s, v)
    out.push(r.verdict)
    s = r.state
  }
  return out
}
