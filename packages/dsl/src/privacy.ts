/**
 * Privacy labels and how they flow through a pipeline.
 *
 * Every artifact is `public`, `private`, or `dp` (released by an accounted DP
 * mechanism). A stage's outputs are `private` if any input is private, unless the
 * stage is a declared DP mechanism; post-processing of `dp` data stays `dp`
 * (the post-processing property of DP, Dwork & Roth 2014, Prop. 2.1).
 */
import { Schema } from "effect"

export const PrivacyLabel = Schema.Literals(["public", "dp", "private"])
export type PrivacyLabel = typeof PrivacyLabel.Type

const rank: Record<PrivacyLabel, number> = { public: 0, dp: 1, private: 2 }

/** The more restrictive of two labels (public < dp < private). */
export const joinLabels = (a: PrivacyLabel, b: PrivacyLabel): PrivacyLabel => (rank[a] >= rank[b] ? a : b)

/** The label of a non-mechanism stage's outputs given its inputs' labels. */
export const propagate = (inputs: ReadonlyArray<PrivacyLabel>): PrivacyLabel =>
  inputs.reduce<PrivacyLabel>(joinLabels, "public")

/**
 * Provenance: the private datasets an artifact derives from, as the ids of the plan
 * nodes where they enter (docs/privacy.md, D1). It flows like a label: an output derives
 * from every dataset any input derives from, plus its own node's when that node is a
 * private source. A mechanism spends on the datasets of its private inputs.
 */
export const unionProvenance = (sets: ReadonlyArray<ReadonlyArray<string>>): ReadonlyArray<string> =>
  [...new Set(sets.flat())].sort()

/** True when data labelled `actual` may flow where `required` is demanded. */
export const satisfies = (actual: PrivacyLabel, required: PrivacyLabel): boolean => rank[actual] <= rank[required]

/**
 * Whether a pipeline's DP mechanisms run against a budget (docs/privacy.md, B1):
 * `declared` (a privacy policy), `none` (the pipeline opted out with `privacy: "none"`:
 * it runs, and `plan` and `run` say loudly that nothing checks its spend), `missing`
 * (mechanisms but neither: refused), or `no-mechanism` (nothing spends).
 */
export type BudgetStatus =
  | { readonly _tag: "declared" }
  | { readonly _tag: "no-mechanism" }
  | { readonly _tag: "none"; readonly mechanisms: ReadonlyArray<string> }
  | { readonly _tag: "missing"; readonly mechanisms: ReadonlyArray<string> }

export const budgetStatus = (
  graph: { readonly privacy: unknown; readonly noBudget?: boolean | undefined },
  mechanisms: ReadonlyArray<string>
): BudgetStatus =>
  graph.privacy !== undefined
    ? { _tag: "declared" }
    : mechanisms.length === 0
      ? { _tag: "no-mechanism" }
      : graph.noBudget === true
        ? { _tag: "none", mechanisms }
        : { _tag: "missing", mechanisms }

const stages = (ids: ReadonlyArray<string>): string => `${ids.length === 1 ? "stage" : "stages"} ${ids.join(", ")}`

/** Why a pipeline with a DP mechanism and no budget is refused, and the two ways out. */
export const missingBudgetMessage = (pipeline: string, mechanisms: ReadonlyArray<string>): string =>
  `Pipeline ${pipeline} runs the DP ${stages(mechanisms)} but declares no privacy budget, so nothing would check what ${mechanisms.length === 1 ? "it spends" : "they spend"}. ` +
  `Declare one in Pipeline.make: privacy: { budget: { epsilon: 3, delta: 1e-6 }, accountants: defaultAccountants } (from @dpipe/stages/privacy/accountants); ` +
  `or, to run without a budget on purpose, declare privacy: "none" (plan and run will then say that no budget is checked).`

/** The loud line `plan` and `run` print for a pipeline that opted out of a budget. */
export const noBudgetWarning = (pipeline: string, mechanisms: ReadonlyArray<string>): string =>
  `WARNING: NO PRIVACY BUDGET. Pipeline ${pipeline} declares privacy: "none": the DP ${stages(mechanisms)} will run with no budget check and no run epsilon; ` +
  `only the privacy statement (if the pipeline has one) reports the epsilon spent.`
