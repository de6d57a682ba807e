/** The sweep's grid and scale settings, and the public proxy corpus's refusal of private groups. */
import { describe, expect, it } from "vitest"
import { Schema } from "effect"
import { GRID, PublicMailConfig, SWEEP_MODELS, enabledPoints, pointId, sweepSettings, type SweepScale } from "@dpipe/stages"
import { sweepScales } from "../../../pipelines/dp-scaling.ts"

const base: SweepScale = { models: ["micro", "small"], sigmaBarExponents: [null, 8, 12], lrExponents: [7], batchSize: 4, steps: 10, warmupSteps: 1, evalEvery: 2, evalSequences: 8 }

describe("sweep grid", () => {
  it("has one node per (model, sigma-bar, learning rate), ids naming the point", () => {
    expect(new Set(GRID.map((p) => p.id)).size).toBe(GRID.length)
    const p = GRID.find((g) => g.id === pointId("tiny", 10, 7))!
    expect(p).toMatchObject({ model: "tiny", noiseBatchRatio: 2 ** -10, learningRate: 2 ** -7 })
    expect(GRID.find((g) => g.id === pointId("small", null, 5))!.noiseBatchRatio).toBe(0)
  })

  it("a scale enables exactly its points and sets their training settings; the rest are disabled", () => {
    const s = sweepSettings(base)
    const on = enabledPoints(base)
    expect(on.length).toBe(2 * 3 * 1)
    for (const p of GRID) expect(s[`${p.id}.enabled`]).toBe(on.includes(p))
    for (const p of on) expect([s[`${p.id}.batchSize`], s[`${p.id}.steps`], s[`${p.id}.evalEvery`]]).toEqual([4, 10, 2])
  })

  it("per-model learning rates and noise levels override the scale's", () => {
    const s: SweepScale = { ...base, lrExponentsFor: { micro: [7, 5] }, sigmaBarExponentsFor: { small: [null, 12] } }
    const ids = enabledPoints(s).map((p) => p.id).sort()
    expect(ids).toEqual([
      pointId("micro", null, 5), pointId("micro", null, 7), pointId("micro", 12, 5), pointId("micro", 12, 7), pointId("micro", 8, 5), pointId("micro", 8, 7),
      pointId("small", null, 7), pointId("small", 12, 7)
    ].sort())
  })

  it("the tiny scale sweeps at least 4 models from micro to small, 6 log-spaced noise levels plus 0, one fixed batch", () => {
    const tiny = sweepScales.tiny!
    expect(tiny.models).toEqual(Object.keys(SWEEP_MODELS))
    const levels = tiny.sigmaBarExponents.filter((k) => k !== null)
    expect(levels.length).toBeGreaterThanOrEqual(6)
    expect(tiny.sigmaBarExponents).toContain(null)
    const gaps = new Set([...levels].sort((a, b) => (a as number) - (b as number)).slice(1).map((k, i) => (k as number) - (levels.slice().sort((a, b) => (a as number) - (b as number))[i] as number)))
    expect(gaps.size).toBe(1)
  })
})

describe("public-mail", () => {
  it("declares only the spam groups public and refuses ham (personal mail)", () => {
    const decode = Schema.decodeUnknownSync(PublicMailConfig)
    expect(decode({ seqLen: 65 }).groups).toEqual(["spam-1", "spam-2"])
    expect(() => decode({ seqLen: 65, groups: ["easy-ham-1"] })).toThrow(/only the spam groups are public/)
  })
})
