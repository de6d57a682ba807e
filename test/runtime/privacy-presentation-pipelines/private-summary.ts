// A budgeted mechanism and a private summary: `run` prints the summary only with --private.
import { Pipeline } from "@dpipe/dsl"
import { defaultAccountants } from "@dpipe/stages/privacy/accountants"
import { privateRows, privateSummary, toyGaussian } from "./_stages.ts"

export default Pipeline.make(
  "private-summary",
  { description: "a private summary", privacy: { budget: { epsilon: 10, delta: 1e-5 }, accountants: defaultAccountants } },
  (b) => {
    const src = b.add("source", privateRows, { config: { rows: 50 } })
    b.add("dp", toyGaussian, { config: { q: 0.01, sigma: 1.0, steps: 100 }, inputs: { rows: src.out.rows } })
    const s = b.add("stats", privateSummary, { inputs: { rows: src.out.rows } })
    return { summary: s.out.summary }
  }
)
