/**
 * The store-wide privacy budget per dataset on the run page: for each private dataset a
 * run spent on, its epsilon over every run of the store (the store ledger composed by the
 * pipeline's accountants, docs/privacy.md D2) against its declared budget. The accountants
 * come from the composition root, as for `pipeline budget`; without them the page shows
 * the run's own ledger only.
 */
import { Context, Effect, Layer, Option } from "effect"
import type { Accountant } from "@dpipe/dsl"
import { summarizeDatasets } from "../dataset-budget.ts"
import type { StoreLayout } from "../store/layout.ts"
import type { StoreBudgetView } from "./api-schemas.ts"

export class StoreBudget extends Context.Service<StoreBudget, {
  /** The budget and spend of the datasets a run used, if the store keeps them. */
  readonly forRun: (store: StoreLayout, runId: string) => Effect.Effect<Option.Option<StoreBudgetView>>
}>()("dpipe/ui/StoreBudget") {}

/** No store-wide budget: the run page shows the run's own ledger only. */
export const noStoreBudget = Layer.succeed(StoreBudget, { forRun: () => Effect.succeed(Option.none()) })

/** The store ledger's datasets that `runId` spent on (or holds a reservation on), composed by `accountants`. */
export const storeBudgetOf = (accountants: readonly [Accountant, ...Array<Accountant>]) =>
  Layer.succeed(StoreBudget, {
    forRun: (store, runId) =>
      summarizeDatasets(store, accountants).pipe(
        Effect.map((all) => {
          const used = all.filter((d) => d.runs.some((r) => r.runId === runId) || d.reservedBy.includes(runId))
          return used.length === 0
            ? Option.none()
            : Option.some({ datasets: used.map((d) => ({ dataset: d.name, budgetEpsilon: d.budgetEpsilon, spentEpsilon: d.epsilon, delta: d.delta })) })
        }),
        // An unreadable store ledger leaves the page with the run's own spend.
        Effect.orElseSucceed(() => Option.none())
      )
  })
