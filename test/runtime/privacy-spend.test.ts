/**
 * The spend of a plan and its budget check, with toy accountants written out here: the
 * first accountant decides, a secondary one is reported unless it does not apply, no
 * events spend 0, a spend exactly at the budget passes and one above it is refused with
 * the figures and the fix, a refused preflight names the stage and its reason.
 */
import { describe, expect, it } from "vitest"
import { Effect, Exit, Schema } from "effect"
import { AccountingFailed, Artifact, Pipeline, Plan, Stage } from "@dpipe/dsl"
import type { Accountant, PipelineGraph } from "@dpipe/dsl"
import { accountEvents, checkBudget, checkPreflight, formatDelta, predictSpend } from "@dpipe/runtime/privacy"

const Toy = Schema.Struct({ eps: Schema.Number })
/** Sums the events' epsilons; like the PLD accountant, it has nothing to compose for no events and refuses. */
const sum: Accountant = {
  name: "sum",
  epsilon: (events) => events.length === 0 ? Effect.fail(new AccountingFailed({ message: "nothing to compose" })) : Effect.try({ try: () => events.reduce<number>((a, e) => a + Schema.decodeUnknownSync(Toy)(e).eps, 0), catch: (e) => new AccountingFailed({ message: String(e) }) })
}
/** A secondary accountant that applies only to events under 1 (like RDP, which has no truncated Poisson), and refuses an empty list. */
const small: Accountant = {
  name: "small",
  epsilon: (events) =>
    events.length > 0 && events.every((e) => Schema.decodeUnknownSync(Toy)(e).eps < 1)
      ? Effect.succeed(events.length * 100)
      : Effect.fail(new AccountingFailed({ message: "does not apply" }))
}

const mech = Stage.make({
  name: "toy-mech",
  version: "1",
  config: Schema.Struct({ eps: Schema.Number }),
  outputs: { out: Artifact.json("out", Schema.Number) },
  mechanism: { predict: (c) => [{ eps: c.eps }] },
  preflight: (c) => (c.eps > 100 ? "too much for this machine" : undefined),
  run: () => Effect.succeed({ out: 1 })
})

const graph = (eps: ReadonlyArray<number>, budget = 3, delta = 1e-6): PipelineGraph =>
  Pipeline.make("spend", { privacy: { budget: { epsilon: budget, delta }, accountants: [sum, small] } }, (b) => {
    eps.forEach((e, i) => void b.add(`m${i}`, mech, { config: { eps: e } }))
  })

const planOf = (g: PipelineGraph) => {
  const r = Plan.makePlan(g, { scale: undefined, settings: {} })
  if (!r.ok) throw new Error(r.error.message)
  return r.value
}

describe("plan spend and budget", () => {
  it("the first accountant decides; a secondary one is reported where it applies", async () => {
    const spend = await Effect.runPromise(predictSpend(planOf(graph([0.5, 0.75]))))
    expect(spend).toEqual({ delta: 1e-6, budgetEpsilon: 3, epsilon: { sum: 1.25, small: 200 }, primary: 1.25 })
    const without = await Effect.runPromise(predictSpend(planOf(graph([0.5, 2]))))
    expect(without!.epsilon).toStrictEqual({ sum: 2.5 })
    expect(Object.keys(without!.epsilon)).toEqual(["sum"])
    expect(without!.primary).toBe(2.5)
  })

  it("no events spend 0 by every accountant; no policy, no spend", async () => {
    const g = graph([])
    expect(await Effect.runPromise(accountEvents(g, "default", []))).toEqual({ delta: 1e-6, budgetEpsilon: 3, epsilon: { sum: 0, small: 0 }, primary: 0 })
    const free = Pipeline.make("free", {}, (b) => void b.add("m", mech, { config: { eps: 1 } }))
    expect(await Effect.runPromise(accountEvents(free, "default", [{ eps: 1 }]))).toBeUndefined()
  })

  it("passes a spend exactly at the budget and refuses one above it, with the figures and the fix", async () => {
    expect((await Effect.runPromise(checkBudget(planOf(graph([1, 2])))))!.primary).toBe(3)
    // within the relative slack of 1e-9 for rounding, inclusive
    expect((await Effect.runPromise(checkBudget(planOf(graph([3 * (1 + 1e-9)])))))!.primary).toBe(3 * (1 + 1e-9))
    const exit = await Effect.runPromiseExit(checkBudget(planOf(graph([1, 2.01]))))
    expect(Exit.isFailure(exit)).toBe(true)
    const text = String(Exit.isFailure(exit) ? exit.cause : "")
    expect(text).toContain("would spend epsilon 3.0100 at delta 1e-6 (by sum), over its budget of epsilon 3.")
    expect(text).toContain("Raise the noise multiplier")
  })

  it("formats deltas in exponent form below 1e-3", () => {
    expect(formatDelta(1e-5)).toBe("1e-5")
    expect(formatDelta(1.1e-10)).toBe("1.1e-10")
    expect(formatDelta(0.001)).toBe("0.001")
    expect(formatDelta(0.05)).toBe("0.05")
  })

  it("a refused preflight names the stage and its reason; otherwise it passes", async () => {
    expect(await Effect.runPromise(checkPreflight(planOf(graph([1]))))).toBeUndefined()
    const error = await Effect.runPromise(Effect.flip(checkPreflight(planOf(graph([1, 500, 700])))))
    expect(error.reason).toBe("preflight")
    expect(error.node).toBe("m1")
    expect(error.message).toBe("Stage m1 cannot run here: too much for this machine Stage m2 cannot run here: too much for this machine")
  })
})
