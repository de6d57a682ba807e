import { describe, expect, it } from "vitest"
import { Pipeline, Plan, type PipelineGraph } from "@dpipe/dsl"
import { load, loadPublic, pack, passthrough, publicOnly } from "./fixtures.ts"

const graph = (): PipelineGraph =>
  Pipeline.make("toy", { scales: { micro: { "load.count": 2 }, big: { "load.count": 100 } }, defaultScale: "micro" }, (b) => {
    const l = b.add("load", load, { config: { prefix: "d" } })
    b.add("pack", pack, { config: { seqLen: 8 }, inputs: { documents: l.out.documents } })
  })

const planError = (g: PipelineGraph, options: Parameters<typeof Plan.makePlan>[1] = {}) => {
  const r = Plan.makePlan(g, options)
  if (r.ok) throw new Error("expected a plan error")
  return r.error
}

describe("plan", () => {
  it("resolves scale presets, settings and defaults in topological order", () => {
    const r = Plan.makePlan(graph(), { scale: "big", settings: { "pack.seqLen": 16 } })
    if (!r.ok) throw new Error(r.error.message)
    expect(r.value.nodes.map((n) => n.id)).toEqual(["load", "pack"])
    expect(r.value.nodes[0]!.config).toEqual({ count: 100, prefix: "d" })
    expect(r.value.nodes[1]!.config).toEqual({ seqLen: 16 })
    expect(r.value.nodes[1]!.perf).toEqual({ workers: 1 })
    expect(r.value.nodes[1]!.outputLabels).toEqual({ sequences: "private" })
  })

  it("names the field path of bad config", () => {
    const e = planError(graph(), { settings: { "load.count": -3 } })
    expect(e.reason).toBe("invalid-config")
    expect(e.path).toBe("load.count")
    expect(e.message).toContain("load.count")
    const e2 = planError(graph(), { settings: { "pack.seqLen": "long" } })
    expect(e2.path).toBe("pack.seqLen")
  })

  it("lists valid keys for an unknown setting and scales for an unknown scale", () => {
    const e = planError(graph(), { settings: { "pack.seqlen": 3 } })
    expect(e.reason).toBe("unknown-setting")
    expect(e.message).toContain("pack.seqLen")
    expect(e.message).toContain("pack.workers")
    const s = planError(graph(), { scale: "huge" })
    expect(s.reason).toBe("unknown-scale")
    expect(s.message).toContain("micro, big")
  })

  it("detects unwired inputs, unknown references and type mismatches in hand-made graphs", () => {
    const g = graph()
    const [l, p] = g.nodes
    const unwired: PipelineGraph = { ...g, nodes: [l!, { ...p!, inputs: {} }] }
    const u = planError(unwired)
    expect(u.reason).toBe("unwired-input")
    expect(u.path).toBe("pack.documents")
    const dangling: PipelineGraph = { ...g, nodes: [l!, { ...p!, inputs: { documents: { node: "load", output: "rows" } } }] }
    expect(planError(dangling).reason).toBe("unknown-reference")
    const mismatch: PipelineGraph = {
      ...g,
      nodes: [l!, p!, { id: "pack2", stage: pack as never, config: { seqLen: 4 }, perf: {}, inputs: { documents: { node: "pack", output: "sequences" } } }]
    }
    const m = planError(mismatch)
    expect(m.reason).toBe("type-mismatch")
    expect(m.path).toBe("pack2.documents")
    expect(m.message).toContain("documents(doc_id: utf8, text: utf8)")
    expect(m.message).toContain("sequences(seq_id: utf8, tokens: list<int32>)")
  })

  it("detects a cycle and names its nodes", () => {
    const g = graph()
    const cyclic: PipelineGraph = {
      ...g,
      scales: {},
      nodes: [
        { id: "src", stage: loadPublic as never, config: {}, perf: {}, inputs: {} },
        { id: "a", stage: passthrough as never, config: {}, perf: {}, inputs: { documents: { node: "b", output: "documents" } } },
        { id: "b", stage: passthrough as never, config: {}, perf: {}, inputs: { documents: { node: "a", output: "documents" } } }
      ]
    }
    const e = planError(cyclic)
    expect(e.reason).toBe("cycle")
    expect(e.message).toContain("a -> b")
  })

  it("refuses private data where public is required, and labels outputs", () => {
    const bad = Pipeline.make("leak", {}, (b) => {
      const l = b.add("load", load, { config: { count: 1, prefix: "" } })
      b.add("vocab", publicOnly, { inputs: { corpus: l.out.documents } })
    })
    const e = planError(bad)
    expect(e.reason).toBe("privacy")
    expect(e.path).toBe("vocab.corpus")
    expect(e.message).toMatch(/accepts only public data.*private/)
    // The reason is stated in the message for whatever stage it is, with the project's own reference.
    expect(e.message).toContain("Wire a public artifact into vocab.corpus: stage vocab requires public data there")
    expect(e.message).toContain("(docs/privacy.md, P9)")
    expect(e.message).not.toMatch(/tokenizer/i)
    const good = Pipeline.make("ok", {}, (b) => {
      const l = b.add("pub", loadPublic, {})
      b.add("vocab", publicOnly, { inputs: { corpus: l.out.documents } })
    })
    const r = Plan.makePlan(good, {})
    expect(r.ok && r.value.nodes[1]!.outputLabels).toEqual({ vocab: "public" })
  })
})
