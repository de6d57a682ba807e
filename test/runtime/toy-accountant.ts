/** A toy DP event and accountant for runtime tests: basic composition, epsilons add up. */
import { Effect, Schema } from "effect"
import { AccountingFailed } from "@dpipe/dsl"
import type { Accountant } from "@dpipe/dsl"

export const ToyEvent = Schema.Struct({ kind: Schema.Literal("toy"), epsilonPerStep: Schema.Number, steps: Schema.Number })

export const sumAccountant: Accountant = {
  name: "basic",
  epsilon: (events) =>
    Effect.try({
      try: () => events.map((e) => Schema.decodeUnknownSync(ToyEvent)(e)).reduce((a, e) => a + e.epsilonPerStep * e.steps, 0),
      catch: (e) => new AccountingFailed({ message: String(e) })
    })
}
