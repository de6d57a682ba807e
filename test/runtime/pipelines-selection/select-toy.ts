/**
 * Test pipeline for stage selection, resume with --set, gc, ledger and diff: a private
 * source read from a text file (`source.path`, one number per line), a toy DP mechanism
 * on it (the Poisson-subsampled Gaussian event of `steps` steps), a public stage after
 * the release, and a public branch that does not read the file.
 */
import { Effect, Schema } from "effect"
import { readFileSync } from "node:fs"
import { Artifact, Pipeline, PrivacyLedger, Stage, StageFailed } from "@dpipe/dsl"
import { poissonSampledGaussian, selfComposed } from "@dpipe/accounting/events"
import { defaultAccountants } from "@dpipe/stages/privacy/accountants"

const Rows = Schema.Array(Schema.Number)
const Release = Schema.Struct({ steps: Schema.Number, value: Schema.Number })

const fileRows = Stage.make({
  name: "select-file-rows",
  version: "1",
  config: Schema.Struct({ path: Schema.String }),
  dataset: () => ({ name: "numbers", identity: { kind: "numbers" } }),
  sources: (c) => [c.path],
  outputs: { rows: Artifact.json("select-rows", Rows, { label: "private" }) },
  run: ({ config }) =>
    Effect.gen(function* () {
      const text = yield* Effect.try({
        try: () => readFileSync(config.path, "utf8"),
        catch: () => new StageFailed({ message: `the input file ${config.path} does not exist. Check source.path (--set source.path=PATH).` })
      })
      return { rows: text.split("\n").filter((l) => l.trim() !== "").map(Number) }
    })
})

const event = (c: { readonly q: number; readonly sigma: number }, steps: number) => selfComposed(poissonSampledGaussian(c.q, c.sigma, "add_remove"), steps)

const gaussian = Stage.make({
  name: "select-gaussian",
  version: "1",
  config: Schema.Struct({ q: Schema.Number, sigma: Schema.Number, steps: Schema.Int }),
  inputs: { rows: Artifact.json("select-rows", Rows) },
  outputs: { release: Artifact.json("select-release", Release) },
  mechanism: { predict: (c) => [event(c, c.steps)] },
  run: ({ config, inputs, stageKey, secretKey }) =>
    Effect.gen(function* () {
      const ledger = yield* PrivacyLedger
      yield* ledger.record({ id: `${stageKey}/gaussian`, event: event(config, config.steps), steps: config.steps })
      const noise = secretKey("noise")[0]! / 255
      return { release: { steps: config.steps, value: inputs.rows.reduce((a, b) => a + Math.min(1, b), 0) + config.sigma * noise } }
    })
})

const report = Stage.make({
  name: "select-report",
  version: "1",
  config: Schema.Struct({ scale: Schema.Number }),
  inputs: { release: Artifact.json("select-release", Release) },
  outputs: { summary: Artifact.json("select-summary", Schema.Struct({ value: Schema.Number })) },
  run: ({ config, inputs }) => Effect.succeed({ summary: { value: inputs.release.value * config.scale } })
})

const constant = Stage.make({
  name: "select-constant",
  version: "1",
  config: Schema.Struct({ value: Schema.Number }),
  outputs: { value: Artifact.json("select-value", Schema.Number, { label: "public" }) },
  run: ({ config }) => Effect.succeed({ value: config.value })
})

export default Pipeline.make(
  "select-toy",
  {
    description: "stage selection test",
    privacy: { budget: { epsilon: 1000, delta: 1e-5 }, accountants: defaultAccountants }
  },
  (b) => {
    const src = b.add("source", fileRows, { config: { path: "numbers.txt" } })
    const dp = b.add("dp", gaussian, { config: { q: 0.01, sigma: 1.0, steps: 100 }, inputs: { rows: src.out.rows } })
    const r = b.add("report", report, { config: { scale: 2 }, inputs: { release: dp.out.release } })
    b.add("constant", constant, { config: { value: 7 } })
    return { summary: r.out.summary }
  }
)
