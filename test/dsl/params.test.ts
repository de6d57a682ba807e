/**
 * Pipeline parameters: `--set params.steps=120` changes every node that reads the steps and
 * what is derived from them; `--set a.steps=120` alone changes one node and `plan` warns
 * that two nodes declared matching no longer do. Then the same on vaultgemma-1b: the DP
 * run and its baseline, with sigma recalibrated for the new steps.
 */
import { describe, expect, it } from "vitest"
import { Schema } from "effect"
import { Params, Pipeline, Plan, type PipelineGraph } from "@dpipe/dsl"
import { accountingApi } from "@dpipe/stages/privacy/accounting-api"
import vaultgemma from "../../pipelines/vaultgemma-1b.ts"
import { load, pack } from "./fixtures.ts"

// Two loaders that must read the same count, and a derived setting (pack.seqLen = 2 * count).
const counts = Params.make({
  schema: Schema.Struct({ count: Schema.Int.check(Schema.isGreaterThan(0)), prefix: Schema.optionalKey(Schema.String) }),
  defaults: { count: 4 },
  derive: (p) => ({ "a.count": p.count, "b.count": p.count, "pack.seqLen": 2 * p.count, ...(p.prefix !== undefined ? { "a.prefix": p.prefix } : {}) })
})

const graph = (): PipelineGraph =>
  Pipeline.make(
    "params-toy",
    {
      params: counts,
      matching: [{ nodes: ["a", "b"], fields: ["count"], why: "a and b are compared" }],
      scales: { small: counts.preset({ count: 2 }), plain: {} },
      defaultScale: "small"
    },
    (b) => {
      const a = b.add("a", load, { config: { prefix: "a" } })
      b.add("b", load, { config: { prefix: "b" } })
      b.add("pack", pack, { config: {}, inputs: { documents: a.out.documents } })
    }
  )

const plan = (g: PipelineGraph, options: Parameters<typeof Plan.makePlan>[1]) => {
  const r = Plan.makePlan(g, options)
  if (!r.ok) throw new Error(r.error.message)
  return { config: (id: string) => r.value.nodes.find((n) => n.id === id)!.config as Record<string, unknown>, plan: r.value }
}

const planError = (g: PipelineGraph, options: Parameters<typeof Plan.makePlan>[1]) => {
  const r = Plan.makePlan(g, options)
  if (r.ok) throw new Error("expected a plan error")
  return r.error
}

describe("pipeline parameters", () => {
  it("defaults, the scale preset and --set params.* apply in that order, to every node that reads them and to derived settings", () => {
    const plain = plan(graph(), { scale: "plain" })
    expect([plain.config("a")["count"], plain.config("b")["count"], plain.config("pack")["seqLen"]]).toEqual([4, 4, 8])
    const small = plan(graph(), {})
    expect([small.config("a")["count"], small.config("b")["count"], small.config("pack")["seqLen"]]).toEqual([2, 2, 4])
    expect(small.plan.params).toEqual({ count: 2 })
    const set = plan(graph(), { settings: { "params.count": 7 } })
    expect([set.config("a")["count"], set.config("b")["count"], set.config("pack")["seqLen"]]).toEqual([7, 7, 14])
    expect(set.plan.warnings).toEqual([])
  })

  it("a node setting still overrides a derived one, and plan warns that the declared match is broken", () => {
    const { config, plan: p } = plan(graph(), { settings: { "a.count": 9 } })
    expect([config("a")["count"], config("b")["count"]]).toEqual([9, 2])
    expect(p.warnings).toHaveLength(2)
    expect(p.warnings![0]).toContain("a.count=9 (--set) overrides the value 2 the pipeline derives from its parameters")
    expect(p.warnings![0]).toContain("--set params.count=9")
    expect(p.warnings![1]).toBe("a.count (9) and b.count (2) differ, but the pipeline declares them matching (a and b are compared). Set params.count to change both.")
    // Setting both nodes by hand keeps them matching: only the override is reported.
    const both = plan(graph(), { settings: { "a.count": 9, "b.count": 9 } })
    expect(both.plan.warnings!.some((w) => w.includes("declares them matching"))).toBe(false)
  })

  it("an unknown parameter suggests the nearest; a bad value names the parameter; params is not a node id", () => {
    const e = planError(graph(), { settings: { "params.cuont": 3 } })
    expect(e.reason).toBe("unknown-setting")
    expect(e.message).toContain('Unknown parameter "params.cuont" (from --set). Did you mean params.count?')
    const bad = planError(graph(), { settings: { "params.count": "many" } })
    expect(bad.reason).toBe("invalid-config")
    expect(bad.path).toBe("params.count")
    expect(() => Pipeline.make("p", {}, (b) => void b.add("params", load, {}))).toThrow(/reserved/)
    expect(Plan.validSettingKeys(graph())).toContain("params.count")
  })

  it("preset keys are type-checked against the parameters' schema", () => {
    // @ts-expect-error: not a parameter
    counts.preset({ cuont: 3 })
    // @ts-expect-error: a count is a number
    counts.preset({ count: "3" })
    expect(counts.preset({ count: 3, prefix: "x" })).toEqual({ "params.count": 3, "params.prefix": "x" })
  })
})

describe("vaultgemma-1b's training parameters", () => {
  const node = (r: ReturnType<typeof plan>, id: string) => r.config(id) as { steps: number; noiseMultiplier: number; samplingRate: number }

  it("--set params.steps=120 changes the DP run and the baseline together and recalibrates sigma for 120 steps", () => {
    const base = plan(vaultgemma, { scale: "micro" })
    expect(node(base, "dp-train").steps).toBe(20)
    const r = plan(vaultgemma, { scale: "micro", settings: { "params.steps": 120 } })
    expect(node(r, "dp-train").steps).toBe(120)
    expect(node(r, "baseline").steps).toBe(120)
    expect(r.plan.warnings).toEqual([])
    // Sigma is calibrated again, for 120 steps: the accountant it was calibrated by (RDP or
    // PLD) gives the budget's epsilon 8 for 120 steps, within the calibration's tolerance,
    // and the authoritative PLD epsilon stays within the budget.
    const { samplingRate, noiseMultiplier } = node(r, "dp-train")
    const eps = accountingApi.epsilon({ samplingRate, noiseMultiplier, steps: 120, delta: 1e-6 })
    const closest = Math.min(Math.abs(eps.pld!.epsilon - 8), Math.abs(eps.rdp!.epsilon - 8))
    expect(closest).toBeLessThan(0.08)
    expect(eps.pld!.epsilon).toBeLessThanOrEqual(8)
    expect(noiseMultiplier).toBeGreaterThan(node(base, "dp-train").noiseMultiplier)
  })

  it("--set dp-train.steps=120 alone leaves the baseline at 20 and sigma as calibrated for 20, and plan warns about both", () => {
    const base = plan(vaultgemma, { scale: "micro" })
    const r = plan(vaultgemma, { scale: "micro", settings: { "dp-train.steps": 120 } })
    expect(node(r, "dp-train").steps).toBe(120)
    expect(node(r, "baseline").steps).toBe(20)
    expect(node(r, "dp-train").noiseMultiplier).toBe(node(base, "dp-train").noiseMultiplier)
    expect(r.plan.warnings!.join("\n")).toContain("dp-train.steps (120) and baseline.steps (20) differ, but the pipeline declares them matching")
    expect(r.plan.warnings!.join("\n")).toContain("--set params.steps=120")
  })
})
