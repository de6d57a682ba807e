/**
 * `pipeline advise` in one call: a law file's text and a budget in, the planner's answer or
 * a one-line reason out. The composition root (bin/pipeline.ts) hands this to the runtime's
 * advise command, which knows the store but not the law.
 */
import { Result } from "effect"
import { parseLaw } from "./law.ts"
import { PlanError } from "./errors.ts"
import { planTraining, type PlanRequest, type PlanResult } from "./planner.ts"

export const adviseFromLawText = (
  text: string,
  path: string,
  request: PlanRequest
): { readonly ok: true; readonly advice: PlanResult & { readonly models: ReadonlyArray<string> } } | { readonly ok: false; readonly message: string } => {
  const law = parseLaw(text, path)
  if (Result.isFailure(law)) return { ok: false, message: law.failure.message }
  try {
    return { ok: true, advice: { ...planTraining(law.success, request), models: law.success.models.map((m) => m.name) } }
  } catch (e) {
    if (e instanceof PlanError) return { ok: false, message: e.message }
    throw e
  }
}
