/**
 * demo: a toy pipeline that exercises the runtime (Parquet tables, a long
 * checkpointed stage, a JSON summary) in seconds. Try:
 *   pnpm pipeline run demo
 *   pnpm pipeline run demo --set accumulate.stepMs=50   (slow enough to Ctrl-C and resume)
 */
import { Pipeline } from "@dpipe/dsl"
import { Demo } from "@dpipe/stages"

const { accumulate, generate, square, summarize } = Demo

export default Pipeline.make(
  "demo",
  {
    description: "Toy stages: generate -> square -> accumulate (checkpointed) -> summarize",
    scales: {
      tiny: {},
      small: { "generate.rows": 100_000, "accumulate.steps": 200 }
    },
    defaultScale: "tiny"
  },
  (b) => {
    const g = b.add("generate", generate, { config: { rows: 1000, seed: 7 } })
    const s = b.add("square", square, { inputs: { numbers: g.out.numbers } })
    const a = b.add("accumulate", accumulate, { config: { steps: 40, checkpointEvery: 5 }, inputs: { numbers: s.out.squares } })
    b.add("summarize", summarize, { inputs: { totals: a.out.totals } })
  }
)
