/** The shipped laws decode with the ScalingLaw schema, stay small, and cover the tiny recipe's model and steps. */
import { describe, expect, it } from "vitest"
import { readFileSync, statSync } from "node:fs"
import { join } from "node:path"
import { Result } from "effect"
import { lawDomain, parseLaw, predictLoss } from "@dpipe/scaling"
import { repoRoot } from "../../runtime/helpers.ts"

const path = (name: string) => join(repoRoot, "pipelines", "scaling-laws", name)

describe("shipped scaling laws", () => {
  it("mail-tiny.json: a tiny dp-scaling law over the four sweep models, under 200 kB", () => {
    const file = path("mail-tiny.json")
    expect(statSync(file).size).toBeLessThan(200_000)
    const law = parseLaw(readFileSync(file, "utf8"), file)
    expect(Result.isSuccess(law), Result.isFailure(law) ? law.failure.message : "").toBe(true)
    if (Result.isFailure(law)) return
    const l = law.success
    expect(l.models.map((m) => m.name)).toEqual(["micro", "tiny", "mini", "small"])
    expect(l.sequenceLength).toBe(64)
    expect(l.grid.logNoiseBatchRatio.length).toBeGreaterThanOrEqual(6)
    expect(l.nonPrivate).toBeDefined()
    const d = lawDomain(l)
    // The recipe's tiny run (150 steps, sigma-bar ~ 5.9e-3) lies inside the law.
    expect(d.steps.max).toBeGreaterThanOrEqual(150)
    const tiny = l.models.find((m) => m.name === "tiny")!
    const dp = predictLoss(l, { params: tiny.params, steps: 150, noiseBatchRatio: 5.86e-3 })
    const np = predictLoss(l, { params: tiny.params, steps: 150, noiseBatchRatio: 0 })
    expect(Number.isFinite(dp) && Number.isFinite(np)).toBe(true)
    expect(dp).toBeGreaterThan(np)
  })

  it("mail-micro.json (tests only) decodes too", () => {
    const file = path("mail-micro.json")
    expect(Result.isSuccess(parseLaw(readFileSync(file, "utf8"), file))).toBe(true)
  })
})
