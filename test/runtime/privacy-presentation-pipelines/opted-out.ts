// The same, with the explicit opt-out: it runs, and says loudly that no budget is checked.
import { Pipeline } from "@dpipe/dsl"
import { privateRows, toyGaussian } from "./_stages.ts"

export default Pipeline.make("opted-out", { description: "a mechanism, explicitly without a budget", privacy: "none" }, (b) => {
  const src = b.add("source", privateRows, { config: { rows: 50 } })
  b.add("dp", toyGaussian, { config: { q: 0.01, sigma: 1.0, steps: 100 }, inputs: { rows: src.out.rows } })
})
