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
