/**
 * Test pipeline for the store-wide privacy ledger: a private source that declares its
 * dataset (`corpus` names it) and a toy DP mechanism that records the Poisson-subsampled
 * Gaussian event of `steps` steps at rate q and multiplier sigma, after asking the
 * ledger how many steps the budgets allow. With `announce` false it predicts nothing, so only its per-step
 * guard stands between it and a dataset's budget.
 */
import { Effect, Schema } from "effect"
import { Artifact, Pipeline, PrivacyLedger, Stage } from "@dpipe/dsl"
import { poissonSampledGaussian, selfComposed } from "@dpipe/accounting/events"
import { defaultAccountants } from "@dpipe/stages/privacy/accountants"

const Rows = Schema.Array(Schema.Number)

const privateRows = Stage.make({
  name: "toy-private-rows",
  version: "1",
  config: Schema.Struct({ corpus: Schema.String, rows: Schema.Int }),
  dataset: (c) => ({ name: c.corpus, identity: { corpus: c.corpus } }),
  outputs: { rows: Artifact.json("toy-rows", Rows, { label: "private" }) },
  // The rows depend on the corpus name, so two corpora are two contents (with equal
  // contents a mechanism's key, and so its release, would be shared: cached, no new spend).
  run: ({ config }) => Effect.succeed({ rows: Array.from({ length: config.rows }, (_, i) => (i * 7919 + [...config.corpus].reduce((a, c) => a + c.charCodeAt(0), 0)) % 101) })
})

const event = (c: { readonly q: number; readonly sigma: number }, steps: number) => selfComposed(poissonSampledGaussian(c.q, c.sigma, "add_remove"), steps)

const toyGaussian = Stage.make({
  name: "toy-gaussian",
  version: "1",
  config: Schema.Struct({ q: Schema.Number, sigma: Schema.Number, steps: Schema.Int, seed: Schema.Int, announce: Schema.Boolean }),
  /** Milliseconds to wait before spending (lets a test start two runs that overlap). */
  perf: Schema.Struct({ holdMs: Schema.Int.pipe(Schema.withDecodingDefaultKey(Effect.succeed(0))) }),
  inputs: { rows: Artifact.json("toy-rows", Rows) },
  outputs: { release: Artifact.json("toy-release", Schema.Struct({ steps: Schema.Number, value: Schema.Number })) },
  mechanism: { predict: (c) => (c.announce ? [event(c, c.steps)] : []) },
  run: ({ config, perf, inputs, stageKey, secretKey }) =>
    Effect.gen(function* () {
      const ledger = yield* PrivacyLedger
      if (perf.holdMs > 0) yield* Effect.sleep(perf.holdMs)
      const id = `${stageKey}/toy`
      // The most steps the budgets allow, by bisection as the training stage does.
      let steps = config.steps
      if (!(yield* ledger.check({ id, event: event(config, steps) })).withinBudget) {
        let lo = 0
        let hi = config.steps
        while (lo < hi) {
          const mid = Math.ceil((lo + hi) / 2)
          if ((yield* ledger.check({ id, event: event(config, mid) })).withinBudget) lo = mid
          else hi = mid - 1
        }
        steps = lo
      }
      yield* ledger.record({ id, event: event(config, steps), steps })
      const noise = secretKey("noise")[0]! / 255
      return { release: { steps, value: inputs.rows.reduce((a, b) => a + Math.min(1, b), 0) + config.sigma * noise } }
    })
})

export default Pipeline.make(
  "dataset-toy",
  { description: "store-wide ledger test", privacy: { budget: { epsilon: 1000, delta: 1e-5 }, accountants: defaultAccountants } },
  (b) => {
    const src = b.add("source", privateRows, { config: { corpus: "mail", rows: 50 } })
    b.add("dp", toyGaussian, { config: { q: 0.01, sigma: 1.0, steps: 200, seed: 0, announce: true }, inputs: { rows: src.out.rows } })
  }
)
