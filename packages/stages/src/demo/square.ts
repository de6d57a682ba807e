/** Demo stage: squares every value of a numbers table, streaming batch by batch. */
import { Effect, Schema, Stream } from "effect"
import { Artifact, Stage, StageFailed } from "@dpipe/dsl"
import { Numbers } from "./tables.ts"

export const square = Stage.make({
  name: "demo-square",
  version: "1",
  description: "Squares each value.",
  config: Schema.Struct({}),
  inputs: { numbers: Artifact.table(Numbers) },
  outputs: { squares: Artifact.table(Numbers) },
  run: ({ inputs }) =>
    Effect.succeed({
      squares: inputs.numbers.batches().pipe(
        Stream.flatMap((rows) => Stream.fromIterable(rows)),
        Stream.map((r) => ({ id: r.id, value: r.value * r.value })),
        Stream.mapError((e) => new StageFailed({ message: e.message }))
      )
    })
})
