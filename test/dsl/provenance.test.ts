/**
 * Provenance (docs/privacy.md, D1): the plan carries, with the privacy labels, the private
 * datasets every artifact derives from, so the runtime knows which datasets a mechanism
 * spends on without knowing any stage.
 */
import { describe, expect, it } from "vitest"
import { Effect, Schema } from "effect"
import { Artifact, Pipeline, Plan, Stage } from "@dpipe/dsl"

const N = Schema.Number
const source = (name: string, label: "public" | "private", dataset?: string) =>
  Stage.make({
    name,
    version: "1",
    config: Schema.Struct({ file: Schema.String }),
    ...(dataset !== undefined ? { dataset: (c: { readonly file: string }) => ({ name: dataset, identity: { file: c.file } }) } : {}),
    outputs: { out: Artifact.json("n", N, { label }) },
    run: () => Effect.succeed({ out: 1 })
  })
const join2 = Stage.make({ name: "join2", version: "1", config: Schema.Struct({}), inputs: { a: Artifact.json("n", N), b: Artifact.json("n", N) }, outputs: { out: Artifact.json("n", N) }, run: () => Effect.succeed({ out: 1 }) })
const mechanism = (name: string, inputs: ReadonlyArray<string>) =>
  Stage.make({
    name,
    version: "1",
    config: Schema.Struct({}),
    inputs: Object.fromEntries(inputs.map((i) => [i, Artifact.json("n", N)])),
    outputs: { out: Artifact.json("n", N) },
    mechanism: { predict: () => [] },
    run: () => Effect.succeed({ out: 1 })
  })

describe("provenance", () => {
  it("flows from private sources through the DAG to the mechanisms that spend on them; public and dp inputs add none", () => {
    const g = Pipeline.make("prov", {}, (b) => {
      const mail = b.add("mail", source("mail-source", "private", "mail"), { config: { file: "m.jsonl" } })
      const notes = b.add("notes", source("notes-source", "private"), { config: { file: "n.txt" } })
      const pub = b.add("pub", source("pub-source", "public"), { config: { file: "p.txt" } })
      const mixed = b.add("mixed", join2, { inputs: { a: mail.out.out, b: pub.out.out } })
      const m1 = b.add("m1", mechanism("m-one", ["x"]), { inputs: { x: mixed.out.out } })
      b.add("m2", mechanism("m-two", ["x", "y"]), { inputs: { x: notes.out.out, y: m1.out.out } })
      b.add("m3", mechanism("m-three", ["x"]), { inputs: { x: pub.out.out } })
    })
    const r = Plan.makePlan(g, {})
    expect(r.ok).toBe(true)
    if (!r.ok) return
    const byId = new Map(r.value.nodes.map((n) => [n.id, n]))
    expect(byId.get("mail")!.datasetOrigin).toEqual({ name: "mail", identity: { file: "m.jsonl" } })
    // A private source that declares nothing is its own dataset, named by its node.
    expect(byId.get("notes")!.datasetOrigin?.name).toBe("notes")
    expect(byId.get("pub")!.datasetOrigin).toBeUndefined()
    expect(byId.get("mixed")!.datasetOrigin).toBeUndefined()
    expect(byId.get("m1")!.spendsOn).toEqual(["mail"])
    // m2 reads notes (private) and m1's release (dp: post-processing spends nothing on mail).
    expect(byId.get("m2")!.spendsOn).toEqual(["notes"])
    expect(byId.get("m3")!.spendsOn).toEqual([])
  })
})
