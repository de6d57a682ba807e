/**
 * The dashboard's store-wide budget per dataset: with the accountants the composition
 * root passes, a run page shows every private dataset the run spent on with its epsilon
 * over all runs of the store (the accountant called directly on the literal composed
 * event) against its declared budget; datasets the run did not touch are not shown.
 */
import { describe, expect, it } from "vitest"
import { join } from "node:path"
import { Effect, Result, Schema } from "effect"
import { layout, runPipeline } from "@dpipe/runtime"
import { accessFor } from "@dpipe/runtime/ui/access"
import { RunDetail } from "@dpipe/runtime/ui/api-schemas"
import { startDashboard } from "@dpipe/runtime/ui/server"
import { storeBudgetOf } from "@dpipe/runtime/ui/store-budget"
import { composed, poissonSampledGaussian, selfComposed } from "@dpipe/accounting/events"
import { pldEpsilon } from "@dpipe/accounting/pld-accountant"
import { defaultAccountants } from "@dpipe/stages/privacy/accountants"
import { cli, repoRoot, tempStore } from "../helpers.ts"
import toy from "../pipelines-budget/dataset-toy.ts"

const env = { DPIPE_PIPELINES: join(repoRoot, "test/runtime/pipelines-budget") }

describe("pipeline ui: the store's budget per dataset", () => {
  it("shows the datasets a run spent on, composed over the store's runs, against the declared budget", async () => {
    const store = tempStore()
    for (const [id, sigma] of [["a", 1.0], ["b", 0.9]] as const) {
      const exit = await Effect.runPromiseExit(runPipeline(toy, { store, runId: id, settings: { "dp.sigma": sigma } }))
      expect(exit._tag).toBe("Success")
    }
    const set = await cli(["budget", "set", "mail", "--epsilon", "50", "--delta", "1e-5", "--store", store], env)
    expect(set.code, set.stderr).toBe(0)
    const detail = await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const running = yield* startDashboard({ store: layout(store), access: accessFor("127.0.0.1"), host: "127.0.0.1", port: 0 })
          return yield* Effect.promise(async () => JSON.parse(await (await fetch(`http://127.0.0.1:${running.port}/api/runs/b`)).text()) as unknown)
        })
      ).pipe(Effect.provide(storeBudgetOf(defaultAccountants)))
    )
    const view = Schema.decodeUnknownSync(RunDetail)(detail).storeBudget!
    expect(view.datasets.map((d) => [d.dataset, d.budgetEpsilon, d.delta])).toEqual([["mail", 50, 1e-5]])
    const both = composed([1.0, 0.9].map((s) => selfComposed(poissonSampledGaussian(0.01, s, "add_remove"), 200)))
    expect(view.datasets[0]!.spentEpsilon).toBeCloseTo(Result.getOrThrow(pldEpsilon(both, 1e-5)).epsilon, 9)
  }, 120_000)
})
