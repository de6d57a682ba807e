/**
 * Stages of the privacy-presentation test pipelines: a private source, a toy Gaussian
 * mechanism that records its Poisson-subsampled Gaussian event, and a private summary
 * (a statistic of the private rows, computed without noise).
 */
import { Effect, Schema } from "effect"
import { Artifact, PrivacyLedger, Stage } from "@dpipe/dsl"
import { poissonSampledGaussian, selfComposed } from "@dpipe/accounting/events"

const Rows = Schema.Array(Schema.Number)

export const privateRows = Stage.make({
  name: "pp-private-rows",
  version: "1",
  config: Schema.Struct({ rows: Schema.Int }),
  outputs: { rows: Artifact.json("pp-rows", Rows, { label: "private" }) },
  run: ({ config }) => Effect.succeed({ rows: Array.from({ length: config.rows }, (_, i) => (i * 7919) % 101) })
})

const event = (c: { readonly q: number; readonly sigma: number }, steps: number) => selfComposed(poissonSampledGaussian(c.q, c.sigma, "add_remove"), steps)

export const toyGaussian = Stage.make({
  name: "pp-gaussian",
  version: "1",
  config: Schema.Struct({ q: Schema.Number, sigma: Schema.Number, steps: Schema.Int }),
  inputs: { rows: Artifact.json("pp-rows", Rows) },
  outputs: { release: Artifact.json("pp-release", Schema.Struct({ steps: Schema.Number, value: Schema.Number })) },
  mechanism: { predict: (c) => [event(c, c.steps)] },
  run: ({ config, inputs, stageKey, secretKey }) =>
    Effect.gen(function* () {
      const ledger = yield* PrivacyLedger
      yield* ledger.record({ id: `${stageKey}/pp`, event: event(config, config.steps), steps: config.steps })
      return { release: { steps: config.steps, value: inputs.rows.length + config.sigma * (secretKey("noise")[0]! / 255) } }
    })
})

export const privateSummary = Stage.make({
  name: "pp-summary",
  version: "1",
  config: Schema.Struct({}),
  inputs: { rows: Artifact.json("pp-rows", Rows) },
  outputs: { summary: Artifact.json("pp-summary", Schema.Struct({ privateMean: Schema.Number })) },
  run: ({ inputs }) => Effect.succeed({ summary: { privateMean: inputs.rows.reduce((a, b) => a + b, 0) / inputs.rows.length } })
})
