// A complete small dpipe pipeline: two stages, a table and a JSON artifact.
import { Effect, Schema, Stream } from "effect"
import { Artifact, Col, makeTable, Pipeline, Stage, StageFailed } from "@dpipe/dsl"

// A table artifact's row schema: column names and their Arrow/Parquet types.
const Lines = makeTable("lines", { line_no: Col.int32, text: Col.utf8 })

// A source stage: its output declares a privacy label (public here).
const writeLines = Stage.make({
  name: "write-lines",
  version: "1",
  config: Schema.Struct({ count: Schema.Int.check(Schema.isGreaterThan(0)) }),
  outputs: { lines: Artifact.table(Lines, { label: "public" }) },
  run: ({ config }) =>
    Effect.succeed({
      lines: Array.from({ length: config.count }, (_, i) => ({ line_no: i, text: `line ${i} says hello` }))
    })
})

// A stage with an input: it streams the table in record batches.
const countWords = Stage.make({
  name: "count-words",
  version: "1",
  config: Schema.Struct({ word: Schema.String }),
  inputs: { lines: Artifact.table(Lines) },
  outputs: { count: Artifact.json("word-count", Schema.Struct({ word: Schema.String, count: Schema.Number })) },
  run: ({ config, inputs }) =>
    inputs.lines.batches().pipe(
      Stream.runFold(() => 0, (n, rows) => n + rows.filter((r) => r.text.split(" ").includes(config.word)).length),
      Effect.map((count) => ({ count: { word: config.word, count } })),
      Effect.mapError((e) => new StageFailed({ message: e.message }))
    )
})

// The pipeline: wiring is type-checked (a table of another schema would not compile).
export default Pipeline.make(
  "example",
  { description: "README example: write lines, count a word", scales: { small: {}, large: { "write.count": 100_000 } } },
  (b) => {
    const write = b.add("write", writeLines, { config: { count: 10 } })
    b.add("count", countWords, { config: { word: "hello" }, inputs: { lines: write.out.lines } })
  }
)
