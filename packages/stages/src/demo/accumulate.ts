/**
 * Demo stage: a long, checkpointed loop. Each step folds the input into a running
 * state (a float64 accumulator and a SHA-256 chain), saving a checkpoint every
 * `checkpointEvery` steps and restoring the latest one on start, so that a run killed
 * mid-way and resumed gives byte-identical outputs. `stepMs` (a performance flag)
 * slows it down for demos and kill tests.
 */
import { createHash } from "node:crypto"
import { Effect, Option, Schema } from "effect"
import { Artifact, Checkpoints, Progress, Stage } from "@dpipe/dsl"
import { Numbers, Totals } from "./tables.ts"

const State = Schema.Struct({ digest: Schema.String, history: Schema.Array(Schema.Struct({ step: Schema.Number, total: Schema.Number, digest: Schema.String })) })

export const accumulate = Stage.make({
  name: "demo-accumulate",
  version: "1",
  description: "Folds the numbers `steps` times with checkpoints.",
  config: Schema.Struct({ steps: Schema.Int.check(Schema.isGreaterThan(0)), checkpointEvery: Schema.Int.check(Schema.isGreaterThan(0)) }),
  perf: Schema.Struct({ stepMs: Schema.Number.pipe(Schema.withDecodingDefaultKey(Effect.succeed(0))) }),
  inputs: { numbers: Artifact.table(Numbers) },
  outputs: { totals: Artifact.table(Totals), state: Artifact.tensors("accumulator") },
  run: ({ config, perf, inputs }) =>
    Effect.gen(function* () {
      const checkpoints = yield* Checkpoints
      const progress = yield* Progress
      const values = Float64Array.from((yield* inputs.numbers.readAll).map((r) => r.value))
      let acc = new Float32Array(values.length)
      let digest = "start"
      let history: Array<{ step: number; total: number; digest: string }> = []
      let step = 0
      const latest = yield* checkpoints.latest
      if (Option.isSome(latest)) {
        const s = Schema.decodeUnknownSync(State)(latest.value.state)
        acc = Float32Array.from(latest.value.tensors["acc"]!.data)
        digest = s.digest
        history = [...s.history]
        step = latest.value.step
        yield* progress.info(`restored checkpoint at step ${step}`)
      }
      const save = (at: number) => checkpoints.save({ step: at, tensors: { acc: { dtype: "float32", shape: [acc.length], data: acc } }, state: { digest, history } })
      while (step < config.steps) {
        for (let i = 0; i < acc.length; i++) acc[i] = acc[i]! + values[i]! * (step + 1)
        let total = 0
        for (let i = 0; i < acc.length; i++) total += acc[i]!
        digest = createHash("sha256").update(digest).update(Buffer.from(acc.buffer, acc.byteOffset, acc.byteLength)).digest("hex")
        history.push({ step, total, digest })
        step++
        if (perf.stepMs > 0) yield* Effect.sleep(perf.stepMs)
        if (step % config.checkpointEvery === 0 || step === config.steps) yield* save(step)
        yield* progress.update(step, config.steps, { total })
      }
      return {
        totals: history,
        state: { acc: { dtype: "float32" as const, shape: [acc.length], data: acc } }
      }
    })
})
