/**
 * The spike/divergence rule on synthetic loss series: a noisy but healthy curve (no
 * spike, no divergence), one isolated spike, a level jump (divergence by consecutive
 * spikes), a slow climb past the untrained loss, and non-finite values; the threshold
 * against a hand computation of median + k * 1.4826 * MAD.
 */
import { describe, expect, it } from "vitest"
import { defaultStabilityRule, initialDetectorState, observe, scanSeries, spikeThreshold, type Verdict } from "@dpipe/engine/train/stability"
import { keyedStream } from "@dpipe/random/keyed-random"

const rule = defaultStabilityRule
const key = new Uint8Array(32).fill(3)

/** A training-like curve 5 + 2.5 exp(-t / 30) with N(0, sd^2) noise, deterministic. */
const healthy = (n: number, sd: number, seed = 0): Array<number> => {
  const rng = keyedStream(key, "loss-series", seed)
  return Array.from({ length: n }, (_, t) => 5 + 2.5 * Math.exp(-t / 30) + sd * rng.gaussian())
}
const kinds = (vs: ReadonlyArray<Verdict>) => vs.map((v) => v.kind)
const indicesOf = (vs: ReadonlyArray<Verdict>, kind: Verdict["kind"]) => vs.flatMap((v, i) => (v.kind === kind ? [i] : []))

describe("stability rule", () => {
  it("threshold = median + max(k * 1.4826 * MAD, floor * |median|), by hand", () => {
    // window 1..9: median 5, |x - 5| = 4 3 2 1 0 1 2 3 4 -> MAD 2
    expect(spikeThreshold(rule, [1, 2, 3, 4, 5, 6, 7, 8, 9])).toBeCloseTo(5 + 6 * 1.4826 * 2, 12)
    // a flat window (MAD 0) falls back to the relative floor
    expect(spikeThreshold(rule, Array(10).fill(4))).toBeCloseTo(4 * 1.03, 12)
    // even length: the median is the mean of the middle two
    expect(spikeThreshold({ ...rule, minHistory: 4, k: 1, relativeFloor: 0 }, [1, 2, 4, 10])).toBeCloseTo(3 + 1.4826 * 1.5, 12)
    // too short a window judges nothing
    expect(spikeThreshold(rule, [5, 5, 5])).toBe(Number.POSITIVE_INFINITY)
  })

  it("a noisy but healthy series: no spike, no divergence (three seeds)", () => {
    for (const seed of [0, 1, 2]) {
      const v = scanSeries(rule, healthy(400, 0.05, seed))
      expect(kinds(v).filter((k) => k !== "ok")).toEqual([])
    }
  })

  it("one isolated spike is flagged, does not enter the window, and is not a divergence", () => {
    const s = healthy(200, 0.05)
    s[120] = (s[120] as number) + 1.5
    const v = scanSeries(rule, s)
    expect(indicesOf(v, "spike")).toEqual([120])
    expect(indicesOf(v, "diverged")).toEqual([])
    // spikes in a row are counted; the run continues after one
    const at = v[120]!
    expect(at.kind === "spike" && at.streak).toBe(1)
  })

  it("a jump that stays up diverges at the third consecutive spike", () => {
    const s = healthy(200, 0.05).map((x, t) => (t >= 150 ? x + 1 : x))
    const v = scanSeries(rule, s)
    expect(indicesOf(v, "spike")).toEqual([150, 151])
    expect(v[152]!.kind).toBe("diverged")
    expect(v[152]!.kind === "diverged" && v[152]!.reason).toMatch(/3 loss spikes in a row/)
  })

  it("a slow climb inside the spike threshold diverges once it passes the untrained loss by the margin", () => {
    // falls to 5.5, then climbs 0.01 per step: each step is within the trailing threshold
    const s = Array.from({ length: 400 }, (_, t) => (t < 100 ? 7.5 - 0.02 * t : 5.5 + 0.01 * (t - 100)))
    const v = scanSeries(rule, s)
    expect(indicesOf(v, "spike")).toEqual([])
    const first = indicesOf(v, "diverged")[0]!
    // 7.5 * 1.1 = 8.25 is first exceeded at 5.5 + 0.01 (t - 100) > 8.25, t = 376
    expect(first).toBe(376)
    expect(v[first]!.kind === "diverged" && v[first]!.reason).toMatch(/above the untrained model's 7\.5000 by more than 10%/)
  })

  it("a non-finite loss is a divergence at once, even on the first steps", () => {
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(scanSeries(rule, [7, 6.9, bad]).map((v) => v.kind)).toEqual(["ok", "ok", "diverged"])
      expect(observe(rule, initialDetectorState, bad).verdict.kind).toBe("diverged")
    }
  })

  it("the state is plain data: judging from a restored state equals judging straight through", () => {
    const s = healthy(120, 0.05)
    s[100] = (s[100] as number) + 2
    const straight = scanSeries(rule, s)
    let st = initialDetectorState
    for (const x of s.slice(0, 60)) st = observe(rule, st, x).state
    const restored = JSON.parse(JSON.stringify(st))
    expect(scanSeries(rule, s.slice(60), restored)).toEqual(straight.slice(60))
  })
})
