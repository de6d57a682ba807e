// A DP mechanism and no privacy policy: plan and run refuse it.
import { Pipeline } from "@dpipe/dsl"
import { privateRows, toyGaussian } from "./_stages.ts"

export default Pipeline.make("no-budget", { description: "a mechanism without a budget" }, (b) => {
  const src = b.add("source", privateRows, { config: { rows: 50 } })
  b.add("dp", toyGaussian, { config: { q: 0.01, sigma: 1.0, steps: 100 }, inputs: { rows: src.out.rows } })
})
