/**
 * One PlanError for all the problems `plan` found, so that a user fixes them in one
 * round rather than one per run: the first problem's reason, node and path, a message
 * that lists every problem, and the list itself in `problems`.
 */
import { PlanError } from "./plan.ts"

export const planErrors = (errors: ReadonlyArray<PlanError>): PlanError => {
  const [first] = errors
  if (first === undefined) throw new Error("planErrors: no errors")
  if (errors.length === 1) return first
  const problems = errors.map((e) => ({
    reason: e.reason,
    ...(e.node !== undefined ? { node: e.node } : {}),
    ...(e.path !== undefined ? { path: e.path } : {}),
    message: e.message
  }))
  return new PlanError({
    reason: first.reason,
    ...(first.node !== undefined ? { node: first.node } : {}),
    ...(first.path !== undefined ? { path: first.path } : {}),
    message: `${errors.length} problems:\n${errors.map((e, i) => `  ${i + 1}. ${e.message}`).join("\n")}`,
    problems
  })
}
