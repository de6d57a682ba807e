/** The stage-selection flags of `run` and `plan` (selection.ts): --force, --only, --until. */
import { Flag } from "effect/cli"
import type { Selection } from "../selection.ts"

export const forceFlag = Flag.String("force").pipe(
  Flag.withDescription("execute this node and everything downstream of it again even if cached; a DP stage draws fresh noise and spends privacy again (repeatable)"),
  Flag.atLeast(0)
)
export const onlyFlag = Flag.String("only").pipe(
  Flag.withDescription("execute only this node; its upstream stages must already be in the cache (repeatable)"),
  Flag.atLeast(0)
)
export const untilFlag = Flag.String("until").pipe(
  Flag.withDescription("execute only this node and the nodes upstream of it (repeatable)"),
  Flag.atLeast(0)
)

export const selectionFlags = { force: forceFlag, only: onlyFlag, until: untilFlag }

export const selectionOf = (a: { readonly force: ReadonlyArray<string>; readonly only: ReadonlyArray<string>; readonly until: ReadonlyArray<string> }): Selection => ({
  force: a.force,
  only: a.only,
  until: a.until
})
