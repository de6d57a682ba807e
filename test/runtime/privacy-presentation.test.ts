/**
 * What a new user hit with privacy defaults, reproduced through the CLI:
 * - a pipeline with a DP mechanism and no privacy policy ran with no budget check: `plan`
 *   and `run` now refuse it, naming the stage and the two ways out; with the explicit
 *   opt-out (`privacy: "none"`) it runs, and both say loudly that no budget is checked;
 * - `run` printed a private summary in full: private values reach the terminal only
 *   with --private, otherwise one line says the summary is private and how to see it.
 */
import { describe, expect, it } from "vitest"
import { existsSync, readdirSync } from "node:fs"
import { join } from "node:path"
import { Result } from "effect"
import { computeStatement } from "@dpipe/stages/report-stages/index"
import { poissonPlan } from "../stages/report-stages/fixtures.ts"
import { cli, repoRoot, tempStore } from "./helpers.ts"

const env = { DPIPE_PIPELINES: join(repoRoot, "test/runtime/privacy-presentation-pipelines") }

describe("a DP mechanism needs a budget or an explicit opt-out", () => {
  it("plan and run refuse a mechanism without a budget, naming the stage and the fix, and write nothing", async () => {
    const store = tempStore()
    const plan = await cli(["plan", "no-budget", "--store", store], env)
    expect(plan.code).not.toBe(0)
    expect(plan.stderr + plan.stdout).toMatch(/runs the DP stage dp but declares no privacy budget/)
    expect(plan.stderr + plan.stdout).toMatch(/privacy: "none"/)
    const run = await cli(["run", "no-budget", "--store", store, "--run-id", "r"], env)
    expect(run.code).not.toBe(0)
    expect(run.stderr + run.stdout).toMatch(/declares no privacy budget/)
    expect(existsSync(join(store, "runs", "r"))).toBe(false)
  })

  it("with privacy: \"none\" plan and run say loudly that no budget is checked, and never that it is within one", async () => {
    const store = tempStore()
    const plan = await cli(["plan", "opted-out", "--store", store], env)
    expect(plan.code).toBe(0)
    expect(plan.stdout).toMatch(/WARNING: NO PRIVACY BUDGET\. Pipeline opted-out declares privacy: "none": the DP stage dp will run with no budget check/)
    const json = await cli(["plan", "opted-out", "--store", store, "--json"], env)
    expect(JSON.parse(json.stdout).budget).toEqual({ _tag: "none", mechanisms: ["dp"] })
    const run = await cli(["run", "opted-out", "--store", store, "--run-id", "r"], env)
    expect(run.code).toBe(0)
    expect(run.stderr).toMatch(/WARNING: NO PRIVACY BUDGET/)
    expect(run.stdout + run.stderr).not.toMatch(/within/i)
    expect(readdirSync(join(store, "runs"))).toEqual(["r"])
  })
})

describe("the privacy statement without a budget", () => {
  it("says that no budget was declared, and neither 'within' nor 'exceeds'", () => {
    const r = computeStatement({ plan: poissonPlan({ sigma: 1.2, steps: 20 }), sequenceTokens: 32, delta: 1e-5 })
    if (Result.isFailure(r)) throw new Error(r.failure)
    expect(r.success.budget).toBeUndefined()
    expect(r.success.text).toContain("No privacy budget was declared for this run: nothing checked this epsilon against a limit.")
    expect(r.success.text).not.toMatch(/within|EXCEEDS/)
    const budgeted = computeStatement({ plan: poissonPlan({ sigma: 1.2, steps: 20 }), sequenceTokens: 32, delta: 1e-5, budgetEpsilon: 100 })
    expect(Result.isSuccess(budgeted) && budgeted.success.text).toMatch(/within the pipeline's declared budget/)
  })
})

describe("private values reach the terminal only with --private", () => {
  it("run hides a private summary behind one line that names --private and the inspect command; --private shows it", async () => {
    const store = tempStore()
    const hidden = await cli(["run", "private-summary", "--store", store, "--run-id", "a"], env)
    expect(hidden.code).toBe(0)
    expect(hidden.stdout).not.toMatch(/privateMean/)
    expect(hidden.stdout).toMatch(/summary \(stats\.summary\) is private \(computed from private data without noise\): not shown; add --private, or see it with pnpm pipeline inspect a stats --output summary --private --store \//)
    const shown = await cli(["run", "private-summary", "--store", store, "--run-id", "b", "--private"], env)
    expect(shown.code).toBe(0)
    expect(shown.stdout).toMatch(/summary \(stats\.summary, label private\):\n {2}privateMean: 49\.04/)
    // The line's inspect command works when pasted (the same rule: rows shown with --private).
    const inspect = await cli(["inspect", "a", "stats", "--output", "summary", "--private", "--store", store, "--json"], env)
    expect(inspect.code).toBe(0)
    expect(inspect.stdout).toMatch(/privateMean/)
  })
})
