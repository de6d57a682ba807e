/**
 * Toy pipeline for the runtime tests: the demo stages plus a stage that fails while
 * the environment variable DPIPE_TOY_FAIL is set (a cause outside the config, so
 * that "fix the cause, then resume" reuses the same stage keys).
 */
import { Effect, Schema } from "effect"
import { Artifact, Pipeline, Stage, StageFailed } from "@dpipe/dsl"
import { accumulate, generate, Numbers, square, summarize } from "@dpipe/stages/demo/index"

const flaky = Stage.make({
  name: "toy-flaky",
  version: "1",
  config: Schema.Struct({}),
  inputs: { numbers: Artifact.table(Numbers) },
  outputs: { numbers: Artifact.table(Numbers) },
  run: ({ inputs }) =>
    Effect.gen(function* () {
      if (process.env["DPIPE_TOY_FAIL"] === "1") {
        return yield* new StageFailed({ message: "the toy data source is unavailable (DPIPE_TOY_FAIL=1)" })
      }
      return { numbers: yield* inputs.numbers.readAll }
    })
})

export default Pipeline.make(
  "toy",
  { description: "runtime test pipeline", scales: { tiny: {}, long: { "accumulate.steps": 60 } }, defaultScale: "tiny" },
  (b) => {
    const g = b.add("generate", generate, { config: { rows: 500, seed: 3 } })
    const s = b.add("square", square, { inputs: { numbers: g.out.numbers } })
    const a = b.add("accumulate", accumulate, { config: { steps: 12, checkpointEvery: 3 }, inputs: { numbers: s.out.squares } })
    b.add("summarize", summarize, { inputs: { totals: a.out.totals } })
    const f = b.add("flaky", flaky, { inputs: { numbers: g.out.numbers } })
    b.add("after-flaky", accumulate, { config: { steps: 2, checkpointEvery: 1 }, inputs: { numbers: f.out.numbers } })
  }
)
