/**
 * The privacy ledger and budget, with a toy mechanism and a toy accountant (basic
 * composition: epsilons add up). The real accountants are tested in test/stages.
 */
import { afterEach, describe, expect, it } from "vitest"
import { existsSync } from "node:fs"
import { Effect, Exit, Option, Schema } from "effect"
import { Artifact, Checkpoints, Pipeline, PrivacyLedger, Stage, StageFailed } from "@dpipe/dsl"
import { readLedger, resumePipeline, runPipeline, layout } from "@dpipe/runtime"
import { tempStore } from "./helpers.ts"
import { sumAccountant } from "./toy-accountant.ts"

let failAt = -1

const mechanism = Stage.make({
  name: "toy-mechanism",
  version: "1",
  config: Schema.Struct({ steps: Schema.Int, epsilonPerStep: Schema.Number }),
  outputs: { release: Artifact.json("release", Schema.Number) },
  mechanism: { predict: (c) => [{ kind: "toy", epsilonPerStep: c.epsilonPerStep, steps: c.steps }] },
  run: ({ config, stageKey }) =>
    Effect.gen(function* () {
      const ledger = yield* PrivacyLedger
      const checkpoints = yield* Checkpoints
      const latest = yield* checkpoints.latest
      let step = Option.isSome(latest) ? latest.value.step : 0
      while (step < config.steps) {
        const check = yield* ledger.check({ id: `${stageKey}:spend`, event: { kind: "toy", epsilonPerStep: config.epsilonPerStep, steps: step + 1 } })
        if (!check.withinBudget) return yield* new StageFailed({ message: `step ${step + 1} would spend epsilon ${check.epsilon}` })
        step++
        yield* ledger.record({ id: `${stageKey}:spend`, event: { kind: "toy", epsilonPerStep: config.epsilonPerStep, steps: step }, steps: step })
        yield* checkpoints.save({ step, tensors: {}, state: null })
        if (step === failAt) return yield* new StageFailed({ message: "simulated crash" })
      }
      return { release: step }
    })
})

const cheat = Stage.make({
  name: "toy-cheat",
  version: "1",
  config: Schema.Struct({}),
  outputs: { out: Artifact.json("out", Schema.Number, { label: "public" }) },
  run: () =>
    Effect.gen(function* () {
      const ledger = yield* PrivacyLedger
      yield* ledger.record({ id: "x", event: { kind: "toy", epsilonPerStep: 1, steps: 1 }, steps: 1 })
      return { out: 1 }
    })
})

const graph = (budget: number) =>
  Pipeline.make("ledger-toy", { privacy: { budget: { epsilon: budget, delta: 1e-6 }, accountants: [sumAccountant] } }, (b) => {
    b.add("dp", mechanism, { config: { steps: 10, epsilonPerStep: 0.1 } })
  })

afterEach(() => {
  failAt = -1
})

describe("privacy ledger", () => {
  it("refuses a plan over budget before any stage runs, giving predicted and allowed epsilon", async () => {
    const store = tempStore()
    const exit = await Effect.runPromiseExit(runPipeline(graph(0.5), { store, runId: "over" }))
    expect(Exit.isFailure(exit)).toBe(true)
    const message = Exit.isFailure(exit) ? String(exit.cause) : ""
    expect(message).toMatch(/would spend epsilon 1\.0000/)
    expect(message).toMatch(/budget of epsilon 0\.5/)
    expect(existsSync(layout(store).runDir("over"))).toBe(false)
  })

  it("records spend, and a crashed then resumed mechanism has the same ledger as an uninterrupted one", async () => {
    const clean = tempStore()
    const a = await Effect.runPromise(runPipeline(graph(2), { store: clean, runId: "clean" }))
    expect(a.record.privacy?.epsilon["basic"]).toBeCloseTo(1.0, 12)
    const cleanLedger = await readLedger(layout(clean).ledgerFile("clean"))
    expect(cleanLedger.length).toBe(1)
    expect(cleanLedger[0]!.steps).toBe(10)

    const store = tempStore()
    failAt = 4
    const crashed = await Effect.runPromiseExit(runPipeline(graph(2), { store, runId: "r" }))
    expect(Exit.isFailure(crashed)).toBe(true)
    const partial = await readLedger(layout(store).ledgerFile("r"))
    expect(partial.map((e) => e.steps)).toEqual([4]) // spent so far is recorded, not lost
    failAt = -1
    const resumed = await Effect.runPromise(resumePipeline(graph(2), { store, runId: "r" }))
    const ledger = await readLedger(layout(store).ledgerFile("r"))
    expect(ledger.map((e) => [e.id, e.steps, e.event])).toEqual(cleanLedger.map((e) => [e.id, e.steps, e.event]))
    expect(resumed.record.privacy?.epsilon["basic"]).toBeCloseTo(1.0, 12)
  })

  it("counts a reused DP release in the new run's ledger, marked reused", async () => {
    const store = tempStore()
    await Effect.runPromise(runPipeline(graph(2), { store, runId: "first" }))
    const second = await Effect.runPromise(runPipeline(graph(2), { store, runId: "second" }))
    expect(second.executed).toEqual([])
    const ledger = await readLedger(layout(store).ledgerFile("second"))
    expect(ledger.length).toBe(1)
    expect(ledger[0]!.reused).toBe(true)
    expect(second.record.privacy?.epsilon["basic"]).toBeCloseTo(1.0, 12)
  })

  it("a mechanism stops before the step that would cross the budget (budget checked per step)", async () => {
    // The plan predicts 1.0 <= 1.0; the stage's per-step check passes every step.
    const store = tempStore()
    const ok = await Effect.runPromise(runPipeline(graph(1.0), { store }))
    expect(ok.record.status).toBe("succeeded")
  })

  it("a stage that is not a declared mechanism cannot record spend", async () => {
    const store = tempStore()
    const g = Pipeline.make("cheat", {}, (b) => void b.add("cheat", cheat, {}))
    const exit = await Effect.runPromiseExit(runPipeline(g, { store }))
    expect(Exit.isFailure(exit)).toBe(true)
    expect(String(Exit.isFailure(exit) ? exit.cause : "")).toMatch(/not declared as a DP mechanism/)
  })
})
