/**
 * `pipeline budget [--store D] [--json]`: every private dataset of the store, with the
 * runs and stages that spent on it, its epsilon composed over all of them by PLD and by
 * RDP at the dataset's delta, and its budget (docs/privacy.md, D1-D3).
 * `pipeline budget set <dataset> --epsilon E --delta D` declares a dataset's budget (by
 * name or source hash); `plan` and `run` then refuse a run that would cross it.
 *
 * The accountants come from the composition root (bin/pipeline.ts), as for `account`,
 * so the runtime imports nothing from stages.
 */
import { Effect } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import type { Accountant } from "@dpipe/dsl"
import { PlanError } from "@dpipe/dsl"
import { setDatasetBudget, summarizeDatasets } from "../dataset-budget.ts"
import { formatDelta } from "../privacy.ts"
import { jsonFlag, print, storeFlag, storeOf, textTable } from "./common.ts"

const parseNumber = (flag: string, raw: string, ok: (x: number) => boolean, want: string) =>
  Effect.suspend(() => {
    const x = Number(raw)
    return raw.trim() !== "" && Number.isFinite(x) && ok(x)
      ? Effect.succeed(x)
      : Effect.fail(new PlanError({ reason: "invalid-config", path: flag, message: `--${flag} ${raw}: must be ${want}.` }))
  })

const setCommand = Command.make(
  "set",
  {
    dataset: Argument.String("dataset").pipe(Argument.withDescription("the dataset's name or source hash (see `pipeline budget`)")),
    epsilon: Flag.String("epsilon").pipe(Flag.withDescription("the most epsilon all runs together may spend on it")),
    delta: Flag.String("delta").pipe(Flag.withDescription("the delta at which epsilon is counted, in (0, 1)")),
    store: storeFlag
  },
  (a) =>
    Effect.gen(function* () {
      const epsilon = yield* parseNumber("epsilon", a.epsilon, (x) => x > 0, "a number > 0")
      const delta = yield* parseNumber("delta", a.delta, (x) => x > 0 && x < 1, "a number in (0, 1)")
      const store = storeOf(a.store)
      yield* setDatasetBudget(store, a.dataset, { epsilon, delta })
      yield* print(`budget of dataset ${a.dataset}: epsilon ${epsilon} at delta ${formatDelta(delta)} (store ${store.root}); runs that would cross it are refused`)
    })
).pipe(Command.withDescription("Declare a dataset's privacy budget: the most epsilon (at delta) all runs of this store together may spend on it."))

export const makeBudgetCommand = (accountants: readonly [Accountant, ...Array<Accountant>]) =>
  Command.make("budget", { store: storeFlag, json: jsonFlag }, (a) =>
    Effect.gen(function* () {
      const store = storeOf(a.store)
      const datasets = yield* summarizeDatasets(store, accountants)
      if (a.json) return yield* print(JSON.stringify({ datasets }))
      if (datasets.length === 0) return yield* print(`No private dataset has been spent on in ${store.root} yet.`)
      const rows = datasets.map((d) => [
        d.name,
        d.sourceHash?.slice(0, 12) ?? "-",
        d.epsilon.toFixed(4),
        d.epsilonRdp?.toFixed(4) ?? "-",
        d.delta !== null ? formatDelta(d.delta) : "-",
        d.budgetEpsilon !== null ? String(d.budgetEpsilon) : "none",
        d.runs.map((r) => `${r.runId} (${r.stages.join(", ")})`).join("; ")
      ])
      yield* print(textTable(["dataset", "source", `epsilon (${accountants[0].name})`, "epsilon (rdp)", "delta", "budget", "runs (stages)"], rows))
    })
  ).pipe(
    Command.withDescription("Privacy spent per private dataset across every run of the store (PLD, RDP as a cross-check), and the declared budgets."),
    Command.withSubcommands([setCommand])
  )
