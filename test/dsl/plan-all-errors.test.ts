/**
 * `plan` reports every problem at once, and a mistyped node, key or scale gets the
 * nearest valid name ("did you mean dp-train.steps?") instead of a list of every key.
 */
import { describe, expect, it } from "vitest"
import { Pipeline, Plan, type PipelineGraph } from "@dpipe/dsl"
import { didYouMean, editDistance, suggestKey } from "@dpipe/dsl/suggest"
import vaultgemma from "../../pipelines/vaultgemma-1b.ts"
import { load, pack, publicOnly } from "./fixtures.ts"

const planError = (g: PipelineGraph, options: Parameters<typeof Plan.makePlan>[1] = {}) => {
  const r = Plan.makePlan(g, options)
  if (r.ok) throw new Error("expected a plan error")
  return r.error
}

describe("plan reports all errors", () => {
  it("three bad settings give one error listing all three, each with its path", () => {
    const g = Pipeline.make("toy", {}, (b) => {
      const l = b.add("load", load, { config: { count: 2, prefix: "d" } })
      b.add("pack", pack, { config: { seqLen: 8 }, inputs: { documents: l.out.documents } })
    })
    const e = planError(g, { settings: { "lod.count": 3, "pack.seqLen": "long", "load.count": -1 } })
    expect(e.problems?.map((p) => [p.reason, p.path])).toEqual([
      ["unknown-setting", "lod.count"],
      ["invalid-config", "load.count"],
      ["invalid-config", "pack.seqLen"]
    ])
    expect(e.message).toMatch(/^3 problems:\n {2}1\. Unknown setting "lod\.count" \(from --set\)\. Did you mean load\.count\?/)
    expect(e.message).toContain("2. Invalid setting load.count")
    expect(e.message).toContain("3. Invalid setting pack.seqLen")
    // The first problem's fields stay where callers read them.
    expect(e.reason).toBe("unknown-setting")
    expect(e.path).toBe("lod.count")
  })

  it("wiring and privacy problems of several nodes are all reported", () => {
    const g = Pipeline.make("toy", {}, (b) => {
      const l = b.add("load", load, { config: { count: 2, prefix: "d" } })
      b.add("vocab", publicOnly, { inputs: { corpus: l.out.documents } })
      b.add("vocab2", publicOnly, { inputs: { corpus: l.out.documents } })
    })
    const e = planError(g)
    expect(e.problems?.map((p) => [p.reason, p.path])).toEqual([
      ["privacy", "vocab.corpus"],
      ["privacy", "vocab2.corpus"]
    ])
    const [l, p] = Pipeline.make("t", {}, (b) => {
      const l = b.add("load", load, { config: { count: 2, prefix: "d" } })
      b.add("pack", pack, { config: { seqLen: 8 }, inputs: { documents: l.out.documents } })
    }).nodes
    const broken: PipelineGraph = {
      ...g,
      nodes: [
        { ...l!, config: { count: "two", prefix: "d" } },
        { ...p!, inputs: { documents: { node: "laod", output: "documents" } } },
        { ...p!, id: "pack2", inputs: {} }
      ]
    }
    const w = planError(broken)
    expect(w.problems?.map((x) => [x.reason, x.path])).toEqual([
      ["unknown-reference", "pack.documents"],
      ["unwired-input", "pack2.documents"],
      ["invalid-config", "load.count"]
    ])
    expect(w.message).toContain("wired to laod.documents, which does not exist. Did you mean load.documents?")
  })

  it("a single problem keeps its plain message", () => {
    const e = planError(vaultgemma, { scale: "micro", settings: { "dp-train.stpes": 120 } })
    expect(e.problems).toBeUndefined()
    expect(e.message).toBe('Unknown setting "dp-train.stpes" (from --set). Did you mean dp-train.steps?')
  })
})

describe("did you mean", () => {
  it("suggests the nearest key for a mistyped node or field, instead of listing every key", () => {
    const valid = Plan.validSettingKeys(vaultgemma)
    expect(valid.length).toBeGreaterThan(60)
    const node = planError(vaultgemma, { scale: "micro", settings: { "dp-trian.steps": 120 } })
    expect(node.message).toBe('Unknown setting "dp-trian.steps" (from --set). Did you mean dp-train.steps?')
    const field = planError(vaultgemma, { scale: "micro", settings: { "corpus.texColumn": "body" } })
    expect(field.message).toContain("Did you mean corpus.textColumn?")
    const scale = planError(vaultgemma, { scale: "mikro" })
    expect(scale.message).toContain('Unknown scale "mikro" for pipeline vaultgemma-1b. Did you mean micro?')
    // Far from everything: no guess, and the node list rather than 60 keys.
    const far = planError(vaultgemma, { scale: "micro", settings: { "zzz.qqq": 1 } })
    expect(far.message).toContain("Nodes: corpus,")
    expect(far.message).not.toContain("dp-train.optimizer.peakLr")
  })

  it("edit distance counts a swap of neighbours as one edit and ignores case", () => {
    expect(editDistance("dp-trian", "dp-train")).toBe(1)
    expect(editDistance("seqlen", "seqLen")).toBe(0)
    expect(editDistance("kitten", "sitting")).toBe(3)
    expect(didYouMean("stesp", ["steps", "seed"])).toBe(" Did you mean steps?")
    expect(didYouMean("completely-different", ["steps"])).toBe("")
    expect(suggestKey("tokeniser.vocabSize", ["tokenizer.vocabSize", "tokenizer.minFrequency"])).toBe(" Did you mean tokenizer.vocabSize?")
  })
})
