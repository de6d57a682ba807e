/**
 * A pipeline whose description, stage message and data carry markup, and whose
 * private table holds a recognisable secret: the dashboard must show the markup as
 * text and the secret only after the reveal.
 */
import { Effect, Schema } from "effect"
import { Artifact, Col, makeTable, Pipeline, Progress, Stage } from "@dpipe/dsl"

export const MARKUP = {
  description: `<img src=x onerror="window.__pwned='description'"><script>window.__pwned='script'</script> <b>bold?</b>`,
  message: `<img src=x onerror="window.__pwned='message'"> & <i>italic?</i> </li><li>forged item`,
  cell: `<svg onload="window.__pwned='cell'"></svg>`
} as const

export const SECRET = "SECRET-ROW-5d41402abc4b2a76"

const Secrets = makeTable("secrets", { id: Col.int32, text: Col.utf8 })
const Notes = makeTable("notes", { id: Col.int32, note: Col.utf8 })

const leak = Stage.make({
  name: "hostile-source",
  version: "1",
  config: Schema.Struct({}),
  outputs: {
    secrets: Artifact.table(Secrets, { label: "private" }),
    notes: Artifact.table(Notes, { label: "public" })
  },
  run: () =>
    Effect.gen(function* () {
      const progress = yield* Progress
      yield* progress.info(MARKUP.message)
      return {
        secrets: [{ id: 1, text: SECRET }, { id: 2, text: "another private row" }],
        notes: [{ id: 1, note: MARKUP.cell }, { id: 2, note: "plain" }]
      }
    })
})

export const hostilePipeline = () =>
  Pipeline.make("hostile", { description: MARKUP.description }, (b) => {
    b.add("source", leak, { config: {} })
  })

export default hostilePipeline()
