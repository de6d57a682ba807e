/**
 * For `pnpm bench cluster`: a chain of no-op stages (each returns its config), so a run's
 * wall time is scheduling: planning, keys, cache writes, and on a cluster the round trip
 * to a runner. `--set` cannot change the chain's length; it is NOOP_STAGES.
 */
import { Effect, Schema } from "effect"
import { Artifact, Pipeline, Stage } from "@dpipe/dsl"

export const NOOP_STAGES = 20

const noop = Stage.make({
  name: "bench-cluster-noop",
  version: "1",
  config: Schema.Struct({ i: Schema.Number }),
  inputs: {},
  outputs: { value: Artifact.json("bench-cluster-value", Schema.Number, { label: "public" }) },
  run: ({ config }) => Effect.succeed({ value: config.i })
})
const link = Stage.make({
  name: "bench-cluster-link",
  version: "1",
  config: Schema.Struct({ i: Schema.Number }),
  inputs: { previous: Artifact.json("bench-cluster-value", Schema.Number, { label: "public" }) },
  outputs: { value: Artifact.json("bench-cluster-value", Schema.Number, { label: "public" }) },
  run: ({ config, inputs }) => Effect.succeed({ value: inputs.previous + config.i })
})

export default Pipeline.make("noop-chain", { description: "no-op chain (bench cluster)", scales: { default: {} }, defaultScale: "default" }, (b) => {
  let prev = b.add("s0", noop, { config: { i: 0 } }).out.value
  for (let i = 1; i < NOOP_STAGES; i++) prev = b.add(`s${i}`, link, { config: { i }, inputs: { previous: prev } }).out.value
})
