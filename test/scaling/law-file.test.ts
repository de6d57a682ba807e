/** The law's JSON file: a round trip through the schema, and clear errors on a bad file. */
import { describe, expect, it } from "vitest"
import { Effect, Result } from "effect"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { ScalingLawFileError, decodeLaw, encodeLaw, fitScalingLaw, parseLaw, predictLoss, readLaw, writeLaw } from "@dpipe/scaling"
import { MODELS, paperLikeLaw, sweep } from "./synthetic.ts"

const law = fitScalingLaw(sweep({ law: paperLikeLaw, models: MODELS.slice(0, 4), steps: Array.from({ length: 30 }, (_, i) => 100 * (i + 1)) }), {
  sequenceLength: 128,
  physicalBatch: 64,
  minStep: 100,
  models: MODELS.slice(0, 4).map((m, i) => ({ ...m, config: { layers: 2 + i, width: 64 * (i + 1) } })),
  provenance: { source: "synthetic", createdAt: "2026-01-01T00:00:00Z" }
})
const failure = (r: Result.Result<unknown, ScalingLawFileError>): string => {
  expect(Result.isFailure(r)).toBe(true)
  return Result.isFailure(r) ? r.failure.message : ""
}

describe("law file", () => {
  it("round-trips through encode, write, read: the same predictions, configs, parametric fit", async () => {
    const dir = mkdtempSync(join(tmpdir(), "dpipe-law-"))
    const path = join(dir, "law.json")
    const back = await Effect.runPromise(
      Effect.gen(function* () {
        yield* writeLaw(path, law)
        return yield* readLaw(path)
      }).pipe(Effect.provide(NodeServices.layer))
    )
    expect(back.models.map((m) => m.config)).toEqual([0, 1, 2, 3].map((i) => ({ layers: 2 + i, width: 64 * (i + 1) })))
    expect(back.parametric?.residuals.length).toBeGreaterThan(0)
    expect(back.provenance).toEqual({ observations: 4 * 3 * 8 * 30, learningRates: [3e-4, 1e-3, 3e-3], source: "synthetic", createdAt: "2026-01-01T00:00:00Z" })
    for (const q of [{ params: 5e5, steps: 700, noiseBatchRatio: 1e-3 }, { params: 1.2e6, steps: 20000, noiseBatchRatio: 0 }])
      expect(predictLoss(back, q)).toBe(predictLoss(law, q))
    expect(encodeLaw(back)).toBe(readFileSync(path, "utf8"))
    // Cells without a value are null in the JSON (no NaN there).
    expect(JSON.parse(encodeLaw(law)).grid.logLoss.every((v: unknown) => v === null || typeof v === "number")).toBe(true)
  })

  it("names the problem of a bad file", async () => {
    expect(failure(parseLaw("{ not json", "x.json"))).toMatch(/x\.json is not JSON .*pass a law file written by the dp-scaling pipeline/)
    expect(failure(decodeLaw({ format: "something-else" }, "y.json"))).toMatch(/y\.json is not a scaling law \(format is "something-else", this version reads "dpipe.scaling-law\/1"/)
    const json = JSON.parse(encodeLaw(law))
    expect(failure(decodeLaw({ ...json, sequenceLength: -1 }, "z.json"))).toMatch(/z\.json is not a scaling law.*sequenceLength/s)
    expect(failure(decodeLaw({ ...json, grid: { ...json.grid, logLoss: json.grid.logLoss.slice(1) } }, "z.json"))).toMatch(/grid\.logLoss has \d+ values, expected 4 x \d+ x 7/)
    expect(failure(decodeLaw({ ...json, grid: { ...json.grid, logSteps: [...json.grid.logSteps].reverse() } }, "z.json"))).toMatch(/logSteps is not strictly increasing/)
    const missing = join(mkdtempSync(join(tmpdir(), "dpipe-law-")), "absent.json")
    const exit = await Effect.runPromise(Effect.result(readLaw(missing)).pipe(Effect.provide(NodeServices.layer)))
    expect(Result.isFailure(exit) && exit.failure).toBeInstanceOf(ScalingLawFileError)
    expect(Result.isFailure(exit) && exit.failure.message).toMatch(/cannot read .*absent\.json/)
  })
})
