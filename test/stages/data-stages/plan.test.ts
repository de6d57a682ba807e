import { describe, expect, it } from "vitest"
import { Effect, Schema } from "effect"
import { Artifact, Plan, Pipeline, Stage } from "@dpipe/dsl"
import { corpus, Documents, PublicTexts, split, tokenizer } from "@dpipe/stages/data-stages/index"
import dataTiny from "../../../pipelines/data-tiny.ts"

const planError = (graph: Pipeline.PipelineGraph, options: Parameters<typeof Plan.makePlan>[1] = {}) => {
  const r = Plan.makePlan(graph, options)
  if (r.ok) throw new Error("expected a plan error")
  return r.error
}

describe("data stages at plan time", () => {
  it("the tokenizer refuses a private input, saying why in the message itself (docs/privacy.md, P9)", () => {
    // A source that emits the tokenizer's input table type but labels it private,
    // as a user's own "texts" loader of private mail would.
    const mailAsTexts = Stage.make({
      name: "mail-as-texts",
      version: "1",
      config: Schema.Struct({}),
      outputs: { texts: Artifact.table(PublicTexts, { label: "private" }) },
      run: () => Effect.succeed({ texts: [] })
    })
    const leak = Pipeline.make("leak", {}, (b) => {
      const m = b.add("mail", mailAsTexts, {})
      b.add("tokenizer", tokenizer, { config: { vocabSize: 512 }, inputs: { texts: m.out.texts } })
    })
    const e = planError(leak)
    expect(e.reason).toBe("privacy")
    expect(e.node).toBe("tokenizer")
    expect(e.path).toBe("tokenizer.texts")
    expect(e.message).toMatch(/Input "texts" of node tokenizer \(stage tokenizer\) accepts only public data, but mail\.texts is private/)
    expect(e.message).toContain(
      "Wire a public artifact into tokenizer.texts: stage tokenizer requires public data there because what it learns from that input is released without privacy accounting (docs/privacy.md, P9)."
    )
  })

  it("the tokenizer refuses text derived from the private corpus", () => {
    // No label on the output: it inherits "private" from the split documents.
    const docsToTexts = Stage.make({
      name: "docs-to-texts",
      version: "1",
      config: Schema.Struct({}),
      inputs: { documents: Artifact.table(Documents) },
      outputs: { texts: Artifact.table(PublicTexts) },
      run: () => Effect.succeed({ texts: [] })
    })
    const leak = Pipeline.make("leak", {}, (b) => {
      const c = b.add("corpus", corpus, { config: { source: "spamassassin" } })
      const s = b.add("split", split, { config: { seed: 1, evalFraction: 0.1 }, inputs: { documents: c.out.documents } })
      const t = b.add("to-texts", docsToTexts, { inputs: { documents: s.out.train_documents } })
      b.add("tokenizer", tokenizer, { config: { vocabSize: 512 }, inputs: { texts: t.out.texts } })
    })
    const e = planError(leak)
    expect(e.reason).toBe("privacy")
    expect(e.path).toBe("tokenizer.texts")
    expect(e.message).toContain("to-texts.texts is private")
  })

  it("plans data-tiny with the privacy label of every output", () => {
    for (const scale of ["micro", "tiny"]) {
      const r = Plan.makePlan(dataTiny, { scale })
      if (!r.ok) throw new Error(r.error.message)
      const labels = Object.fromEntries(r.value.nodes.map((n) => [n.id, n.outputLabels]))
      expect(labels).toEqual({
        corpus: { documents: "private", report: "private" },
        "public-corpus": { texts: "public" },
        split: { train_documents: "private", eval_documents: "private" },
        tokenizer: { tokenizer: "public", report: "public" },
        pack: { train_sequences: "private", eval_sequences: "private", canaries: "private", canary_info: "private" }
      })
    }
    expect(dataTiny.defaultScale).toBe("tiny")
  })

  it("rejects bad data configs before anything runs, naming the setting", () => {
    expect(planError(dataTiny, { settings: { "corpus.source": "parquet" } })).toMatchObject({ reason: "invalid-config", path: "corpus.source" })
    expect(planError(dataTiny, { settings: { "corpus.source": "parquet" } }).message).toMatch(/not yet supported.*JSONL/)
    expect(planError(dataTiny, { settings: { "corpus.source": "jsonl" } })).toMatchObject({ reason: "invalid-config", path: "corpus.path" })
    expect(planError(dataTiny, { settings: { "split.evalFraction": 0 } })).toMatchObject({ reason: "invalid-config", path: "split.evalFraction" })
    expect(planError(dataTiny, { settings: { "tokenizer.vocabSize": 100 } }).message).toMatch(/tokenizer\.vocabSize.*between 258/)
    expect(planError(dataTiny, { settings: { "pack.seqLen": 1 } })).toMatchObject({ reason: "invalid-config", path: "pack.seqLen" })
    const r = Plan.makePlan(dataTiny, { settings: { "corpus.source": "jsonl", "corpus.path": "mail.jsonl", "pack.canaries.count": 0 } })
    expect(r.ok).toBe(true)
  })
})
