/**
 * For `pnpm bench cluster`: a 4-run mini sweep. Four independent "training runs" (a
 * least-squares fit by plain gradient descent on a synthetic regression problem, one per
 * learning rate, a fixed amount of CPU each) and a summary of their losses: the shape of
 * a scaling sweep, small enough for the bench.
 */
import { Effect, Schema } from "effect"
import { Artifact, Pipeline, Stage } from "@dpipe/dsl"

const Fit = Schema.Struct({ lr: Schema.Number, loss: Schema.Number })

const fit = Stage.make({
  name: "bench-cluster-fit",
  version: "1",
  config: Schema.Struct({ lr: Schema.Number, steps: Schema.Number, rows: Schema.Number, dims: Schema.Number }),
  inputs: {},
  outputs: { fit: Artifact.json("bench-cluster-fit", Fit, { label: "public" }) },
  run: ({ config }) =>
    Effect.sync(() => {
      const { rows, dims } = config
      let s = 12345
      const rand = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 4294967296) - 0.5
      const x = Float64Array.from({ length: rows * dims }, rand)
      const truth = Float64Array.from({ length: dims }, rand)
      const y = new Float64Array(rows)
      for (let r = 0; r < rows; r++) for (let d = 0; d < dims; d++) y[r]! += x[r * dims + d]! * truth[d]!
      const w = new Float64Array(dims)
      const g = new Float64Array(dims)
      let loss = 0
      for (let t = 0; t < config.steps; t++) {
        g.fill(0)
        loss = 0
        for (let r = 0; r < rows; r++) {
          let e = -y[r]!
          for (let d = 0; d < dims; d++) e += x[r * dims + d]! * w[d]!
          loss += e * e
          for (let d = 0; d < dims; d++) g[d]! += e * x[r * dims + d]!
        }
        for (let d = 0; d < dims; d++) w[d]! -= (config.lr * g[d]!) / rows
      }
      return { fit: { lr: config.lr, loss: loss / rows } }
    })
})

const summary = Stage.make({
  name: "bench-cluster-best",
  version: "1",
  config: Schema.Struct({}),
  inputs: { a: Artifact.json("bench-cluster-fit", Fit), b: Artifact.json("bench-cluster-fit", Fit), c: Artifact.json("bench-cluster-fit", Fit), d: Artifact.json("bench-cluster-fit", Fit) },
  outputs: { best: Artifact.json("bench-cluster-fit", Fit, { label: "public" }) },
  run: ({ inputs }) => Effect.succeed({ best: [inputs.a, inputs.b, inputs.c, inputs.d].sort((p, q) => p.loss - q.loss)[0]! })
})

export default Pipeline.make("mini-sweep", { description: "4-run mini sweep (bench cluster)", scales: { default: {} }, defaultScale: "default", concurrency: 4 }, (b) => {
  const runs = [0.05, 0.1, 0.2, 0.4].map((lr, i) => b.add(`fit-${i}`, fit, { config: { lr, steps: 1500, rows: 4000, dims: 64 } }).out.fit)
  b.add("best", summary, { inputs: { a: runs[0]!, b: runs[1]!, c: runs[2]!, d: runs[3]! } })
})
