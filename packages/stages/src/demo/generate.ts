/** Demo stage: a table of pseudo-random numbers from a seed (public toy data). */
import { Effect, Schema } from "effect"
import { Artifact, Stage } from "@dpipe/dsl"
import { Numbers } from "./tables.ts"

/** xorshift32: a tiny deterministic generator for toy data (not for DP randomness). */
const xorshift = (seed: number) => {
  let s = seed >>> 0 || 1
  return () => {
    s ^= s << 13
    s >>>= 0
    s ^= s >>> 17
    s ^= s << 5
    s >>>= 0
    return s / 4294967296
  }
}

export const generate = Stage.make({
  name: "demo-generate",
  version: "1",
  description: "Generates `rows` pseudo-random numbers from `seed`.",
  config: Schema.Struct({ rows: Schema.Int.check(Schema.isGreaterThan(0)), seed: Schema.Int }),
  outputs: { numbers: Artifact.table(Numbers, { label: "public" }) },
  run: ({ config }) =>
    Effect.sync(() => {
      const next = xorshift(config.seed)
      return { numbers: (function* () {
        for (let i = 0; i < config.rows; i++) yield { id: i, value: next() }
      })() }
    })
})
