/**
 * The hook for the store-wide privacy budget per dataset. The dashboard shows each
 * run's own ledger and spend; a store that keeps a budget across runs provides this
 * service (a Layer over its ledger) and the run page shows it next to the run's spend.
 * The default layer says the store has none.
 */
import { Context, Effect, Layer, Option } from "effect"
import type { StoreLayout } from "../store/layout.ts"
import type { StoreBudgetView } from "./api-schemas.ts"

export class StoreBudget extends Context.Service<StoreBudget, {
  /** The budget and spend of the datasets a run used, if the store keeps them. */
  readonly forRun: (store: StoreLayout, runId: string) => Effect.Effect<Option.Option<StoreBudgetView>>
}>()("dpipe/ui/StoreBudget") {}

/** No store-wide budget: the run page shows the run's own ledger only. */
export const noStoreBudget = Layer.succeed(StoreBudget, { forRun: () => Effect.succeed(Option.none()) })
