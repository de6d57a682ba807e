/** Demo stage: a small JSON summary of the accumulation. */
import { Effect, Schema } from "effect"
import { Artifact, Stage } from "@dpipe/dsl"
import { Totals } from "./tables.ts"

export const Summary = Schema.Struct({ steps: Schema.Number, finalTotal: Schema.Number, finalDigest: Schema.String })

export const summarize = Stage.make({
  name: "demo-summarize",
  version: "1",
  description: "Summarizes the totals.",
  config: Schema.Struct({}),
  inputs: { totals: Artifact.table(Totals) },
  outputs: { summary: Artifact.json("demo-summary", Summary) },
  run: ({ inputs }) =>
    Effect.map(inputs.totals.readAll, (rows) => {
      const last = rows.at(-1)
      return { summary: { steps: rows.length, finalTotal: last?.total ?? 0, finalDigest: last?.digest ?? "" } }
    })
})
