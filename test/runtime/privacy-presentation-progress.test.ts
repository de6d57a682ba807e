/**
 * The training progress line showed the RDP epsilon (`eps=3.754` against a budget of 3
 * while the run's PLD epsilon was 2.96): it looked like an overrun. It now shows the
 * authoritative accountant's run epsilon, labelled with it: exact (a ledger check by PLD)
 * at step 1, at every checkpoint and at the last step, interpolated in between
 * (epsilon-progress.ts), and the last value is the run's epsilon.
 */
import { describe, expect, it } from "vitest"
import { Effect, Result } from "effect"
import { pldEpsilon } from "@dpipe/accounting/pld-accountant"
import { DEFAULT_RDP_ORDERS, rdpOfEvent } from "@dpipe/accounting/rdp"
import { epsilonFromRdp } from "@dpipe/accounting/rdp-conversion"
import { poissonSampledGaussian, selfComposed } from "@dpipe/accounting/events"
import { collectingReporter, runPipeline } from "@dpipe/runtime"
import { formatMetrics } from "@dpipe/runtime/progress/format"
import { epsilonProgress } from "@dpipe/stages/privacy/epsilon-progress"
import { trainPipeline } from "../stages/training-stages/pipeline.ts"
import { tempStore } from "./helpers.ts"

const pld = (q: number, sigma: number, t: number, delta: number) => Result.getOrThrow(pldEpsilon(selfComposed(poissonSampledGaussian(q, sigma), t), delta)).epsilon
const rdp = (q: number, sigma: number, t: number, delta: number) => {
  const one = Result.getOrThrow(rdpOfEvent(poissonSampledGaussian(q, sigma)))
  return epsilonFromRdp(DEFAULT_RDP_ORDERS, one.map((r) => r * t), delta).epsilon
}

describe("the progress line's epsilon", () => {
  it("is labelled with its accountant", () => {
    expect(formatMetrics({ loss: 2.3456, eps: 2.96, epsAccountant: "pld", "tok/s": 1200 })).toBe("loss=2.346 eps=2.960 (pld) tok/s=1200")
    expect(formatMetrics({ eps: 2.5, epsAccountant: "pld, est." })).toBe("eps=2.500 (pld, est.)")
    // An accountant label without its metric is shown as a metric.
    expect(formatMetrics({ epsAccountant: "pld" })).toBe("epsAccountant=pld")
  })

  it("is the PLD epsilon at its anchors and an estimate within 7% below it in between (tiny's q and sigma, 150 steps, anchors 1 and 150 only)", () => {
    const [q, sigma, delta, T] = [0.0015, 0.39, 1e-6, 150]
    const curve = epsilonProgress((t) => rdp(q, sigma, t, delta))
    for (const t of [1, T]) curve.anchor(t, pld(q, sigma, t, delta))
    for (const t of [1, T]) expect(curve.at(t)).toEqual({ epsilon: pld(q, sigma, t, delta), exact: true })
    for (const t of [2, 10, 40, 100]) {
      const exact = pld(q, sigma, t, delta)
      const shown = curve.at(t)
      expect(shown.exact).toBe(false)
      expect(shown.epsilon).toBeLessThanOrEqual(exact * 1.005)
      expect(shown.epsilon).toBeGreaterThan(exact * 0.93)
      // RDP, what the line showed before, is far above.
      expect(rdp(q, sigma, t, delta)).toBeGreaterThan(exact * 1.15)
    }
    // Without RDP (truncated Poisson) the anchors are interpolated in log-log; no anchor, nothing shown.
    const plain = epsilonProgress(undefined)
    expect(plain.at(3).epsilon).toBeNaN()
    plain.anchor(1, 1)
    plain.anchor(16, 4)
    expect(plain.at(4).epsilon).toBeCloseTo(2, 12)
  }, 120_000)

  it("in a micro DP training run: labelled pld where exact (step 1, the end: the run's PLD epsilon), estimated between", async () => {
    const reporter = collectingReporter()
    const summary = await Effect.runPromise(runPipeline(trainPipeline(8), { store: tempStore(), reporter }))
    expect(summary.record.status).toBe("succeeded")
    const progress = reporter.events.flatMap((e) => (e.type === "stage-progress" && e.node === "dp-train" ? [e] : []))
    expect(progress.map((e) => e.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12])
    const eps = progress.map((e) => e.metrics["eps"] as number)
    // q 0.002, sigma 1, delta 1e-5. Exact at 1 and 12; at a checkpoint (every 4 steps) only
    // when a check is cheap next to the steps since the last (not at these millisecond steps, as a rule).
    expect(progress[0]!.metrics["epsAccountant"]).toBe("pld")
    expect(progress[11]!.metrics["epsAccountant"]).toBe("pld")
    for (let t = 1; t <= 12; t++) {
      const exact = pld(0.002, 1, t, 1e-5)
      if (progress[t - 1]!.metrics["epsAccountant"] === "pld") {
        expect(eps[t - 1]).toBeCloseTo(exact, 3)
      } else {
        expect(progress[t - 1]!.metrics["epsAccountant"]).toBe("pld, est.")
        expect(eps[t - 1]!).toBeGreaterThan(exact * 0.93)
        expect(eps[t - 1]!).toBeLessThanOrEqual(exact * 1.005 + 1e-3)
      }
      if (t > 1) expect(eps[t - 1]!).toBeGreaterThanOrEqual(eps[t - 2]!)
    }
    expect(eps[11]).toBeCloseTo(summary.record.privacy!.epsilon["pld"]!, 3)
    // The RDP figure the line used to show is more than 10% higher.
    expect(rdp(0.002, 1, 12, 1e-5)).toBeGreaterThan(eps[11]! * 1.1)
    expect(formatMetrics(progress.at(-1)!.metrics)).toMatch(/ eps=0\.0\d+ \(pld\) /)
  }, 600_000)
})
