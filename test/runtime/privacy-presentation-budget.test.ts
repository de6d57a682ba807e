/**
 * The budget-or-opt-out rule in process (docs/privacy.md, B1): which pipelines count as
 * budgeted, opted out, missing a budget or spending nothing; the exact messages; and the
 * runtime's checks (plan and run refuse a missing budget before any accounting, the
 * notice appears only for the opt-out). In the mutation-tested suites.
 */
import { describe, expect, it } from "vitest"
import { Effect, Exit, Schema } from "effect"
import { Artifact, Pipeline, Plan, PlanError, Privacy, Stage } from "@dpipe/dsl"
import type { Accountant, PipelineGraph } from "@dpipe/dsl"
import { checkBudget, checkBudgetDeclared, noBudgetNotice } from "@dpipe/runtime/privacy"

const never: Accountant = { name: "never", epsilon: () => Effect.die("not called") }
const mech = Stage.make({
  name: "pp-mech",
  version: "1",
  config: Schema.Struct({}),
  outputs: { out: Artifact.json("out", Schema.Number) },
  mechanism: { predict: () => [] },
  run: () => Effect.succeed({ out: 1 })
})
const plain = Stage.make({
  name: "pp-plain",
  version: "1",
  config: Schema.Struct({}),
  outputs: { out: Artifact.json("out", Schema.Number, { label: "public" }) },
  run: () => Effect.succeed({ out: 1 })
})

const graph = (privacy: "policy" | "none" | "absent", mechanisms: number): PipelineGraph =>
  Pipeline.make(
    "g",
    privacy === "policy" ? { privacy: { budget: { epsilon: 1, delta: 1e-6 }, accountants: [never] } } : privacy === "none" ? { privacy: "none" } : {},
    (b) => {
      b.add("plain", plain, {})
      for (let i = 0; i < mechanisms; i++) b.add(`m${i}`, mech, {})
    }
  )
const planOf = (g: PipelineGraph) => {
  const r = Plan.makePlan(g, {})
  if (!r.ok) throw new Error(r.error.message)
  return r.value
}

describe("budget status", () => {
  it("classifies policy, opt-out, missing and nothing to spend", () => {
    expect(graph("policy", 1).noBudget).toBeUndefined()
    expect(graph("none", 1).noBudget).toBe(true)
    expect(graph("none", 1).privacy).toBeUndefined()
    expect(Privacy.budgetStatus(graph("policy", 1), ["m0"])).toEqual({ _tag: "declared" })
    expect(Privacy.budgetStatus(graph("policy", 0), [])).toEqual({ _tag: "declared" })
    expect(Privacy.budgetStatus(graph("none", 2), ["m0", "m1"])).toEqual({ _tag: "none", mechanisms: ["m0", "m1"] })
    expect(Privacy.budgetStatus(graph("none", 0), [])).toEqual({ _tag: "no-mechanism" })
    expect(Privacy.budgetStatus(graph("absent", 0), [])).toEqual({ _tag: "no-mechanism" })
    expect(Privacy.budgetStatus(graph("absent", 1), ["m0"])).toEqual({ _tag: "missing", mechanisms: ["m0"] })
    expect(Privacy.budgetStatus({ privacy: undefined, noBudget: false }, ["m0"])).toEqual({ _tag: "missing", mechanisms: ["m0"] })
  })

  it("words the refusal and the warning exactly", () => {
    expect(Privacy.missingBudgetMessage("p", ["m0"])).toBe(
      "Pipeline p runs the DP stage m0 but declares no privacy budget, so nothing would check what it spends. " +
        "Declare one in Pipeline.make: privacy: { budget: { epsilon: 3, delta: 1e-6 }, accountants: defaultAccountants } (from @dpipe/stages/privacy/accountants); " +
        "or, to run without a budget on purpose, declare privacy: \"none\" (plan and run will then say that no budget is checked)."
    )
    expect(Privacy.missingBudgetMessage("p", ["a", "b"])).toContain("runs the DP stages a, b but declares no privacy budget, so nothing would check what they spend.")
    expect(Privacy.noBudgetWarning("p", ["m0"])).toBe(
      "WARNING: NO PRIVACY BUDGET. Pipeline p declares privacy: \"none\": the DP stage m0 will run with no budget check and no run epsilon; " +
        "only the privacy statement (if the pipeline has one) reports the epsilon spent."
    )
    expect(Privacy.noBudgetWarning("p", ["a", "b"])).toContain("the DP stages a, b will run")
  })
})

describe("the runtime's budget checks", () => {
  it("refuse a mechanism without a budget, naming the first mechanism, before any accounting", async () => {
    for (const check of [(p: Plan.Plan) => Effect.asVoid(checkBudgetDeclared(p)), (p: Plan.Plan) => Effect.asVoid(checkBudget(p))]) {
      const exit = await Effect.runPromiseExit(check(planOf(graph("absent", 2))))
      expect(Exit.isFailure(exit)).toBe(true)
      const error = Exit.isFailure(exit) ? exit.cause.reasons.find((r) => r._tag === "Fail") : undefined
      const e = error !== undefined && "error" in error ? (error.error as PlanError) : undefined
      expect(e).toBeInstanceOf(PlanError)
      expect(e?.reason).toBe("budget")
      expect(e?.node).toBe("m0")
      expect(e?.message).toBe(Privacy.missingBudgetMessage("g", ["m0", "m1"]))
    }
  })

  it("pass the opt-out, a policy and a pipeline that spends nothing; only the opt-out gets the notice", async () => {
    expect(await Effect.runPromise(checkBudgetDeclared(planOf(graph("none", 1))))).toEqual({ _tag: "none", mechanisms: ["m0"] })
    expect(await Effect.runPromise(checkBudget(planOf(graph("none", 1))))).toBeUndefined()
    expect(await Effect.runPromise(checkBudgetDeclared(planOf(graph("absent", 0))))).toEqual({ _tag: "no-mechanism" })
    expect(await Effect.runPromise(checkBudgetDeclared(planOf(graph("policy", 1))))).toEqual({ _tag: "declared" })
    expect(noBudgetNotice(planOf(graph("none", 1)))).toBe(Privacy.noBudgetWarning("g", ["m0"]))
    expect(noBudgetNotice(planOf(graph("policy", 1)))).toBeUndefined()
    expect(noBudgetNotice(planOf(graph("absent", 0)))).toBeUndefined()
    expect(noBudgetNotice(planOf(graph("absent", 1)))).toBeUndefined()
  })
})
