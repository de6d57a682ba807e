/** Toy stages shared by the dsl tests. */
import { Effect, Schema } from "effect"
import { Artifact, Col, makeTable, Stage } from "@dpipe/dsl"

export const Documents = makeTable("documents", { doc_id: Col.utf8, text: Col.utf8 })
export const Sequences = makeTable("sequences", { seq_id: Col.utf8, tokens: Col.int32List })

export const load = Stage.make({
  name: "load",
  version: "1",
  config: Schema.Struct({ count: Schema.Int.check(Schema.isGreaterThan(0)), prefix: Schema.String }),
  outputs: { documents: Artifact.table(Documents, { label: "private" }) },
  run: ({ config }) =>
    Effect.succeed({
      documents: Array.from({ length: config.count }, (_, i) => ({ doc_id: `${config.prefix}${i}`, text: `text ${i}` }))
    })
})

export const loadPublic = Stage.make({
  name: "load-public",
  version: "1",
  config: Schema.Struct({}),
  outputs: { documents: Artifact.table(Documents, { label: "public" }) },
  run: () => Effect.succeed({ documents: [{ doc_id: "p", text: "public" }] })
})

export const pack = Stage.make({
  name: "pack",
  version: "1",
  config: Schema.Struct({ seqLen: Schema.Int }),
  perf: Schema.Struct({ workers: Schema.Int.pipe(Schema.withDecodingDefaultKey(Effect.succeed(1))) }),
  inputs: { documents: Artifact.table(Documents) },
  outputs: { sequences: Artifact.table(Sequences) },
  run: () => Effect.succeed({ sequences: [] })
})

export const publicOnly = Stage.make({
  name: "vocab",
  version: "1",
  config: Schema.Struct({}),
  inputs: { corpus: Artifact.table(Documents, { requires: "public" }) },
  outputs: { vocab: Artifact.json("vocab", Schema.Array(Schema.String)) },
  run: () => Effect.succeed({ vocab: [] })
})

export const passthrough = Stage.make({
  name: "passthrough",
  version: "1",
  config: Schema.Struct({}),
  inputs: { documents: Artifact.table(Documents) },
  outputs: { documents: Artifact.table(Documents) },
  run: ({ inputs }) => Effect.map(inputs.documents.readAll, (documents) => ({ documents }))
})
