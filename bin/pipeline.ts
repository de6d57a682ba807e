/**
 * Entry point of `pnpm pipeline <verb>`: the composition root. It joins the runtime's
 * CLI with the commands that need the domain (the accountants of `account`, `budget` and the
 * dashboard's store budget, the model formats of `export`, the scaling-law planner of `advise`).
 */
// Subpath imports: the package's barrel loads cluster, HTTP and Redis modules too (~0.8 s).
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Effect } from "effect"
import { runCli } from "@dpipe/runtime"
import { makeAccountCommand } from "@dpipe/runtime/cli/account-command"
import { makeExportCommand } from "@dpipe/runtime/cli/export-command"
import { makeBudgetCommand } from "@dpipe/runtime/cli/budget-command"
import { makeLedgerCommand } from "@dpipe/runtime/cli/ledger-command"
import { makeAdviseCommand } from "@dpipe/runtime/cli/advise-command"
import { storeBudgetOf } from "@dpipe/runtime/ui/store-budget"
import { accountingApi } from "@dpipe/stages/privacy/accounting-api"
import { modelExportApi } from "@dpipe/stages/export/model-export"
import { defaultAccountants } from "@dpipe/stages/privacy/accountants"
import { adviseFromLawText } from "@dpipe/scaling/advice"

runCli(process.argv.slice(2), [makeAccountCommand(accountingApi), makeExportCommand(modelExportApi), makeBudgetCommand(defaultAccountants), makeLedgerCommand(defaultAccountants), makeAdviseCommand({ advise: adviseFromLawText })], { storeBudget: storeBudgetOf(defaultAccountants) }).pipe(Effect.provide(NodeServices.layer), NodeRuntime.runMain({ disableErrorReporting: true }))

// `pnpm pipeline runs | head` closes stdout early: that is not an error.
process.stdout.on("error", (e: NodeJS.ErrnoException) => {
  if (e.code === "EPIPE") process.exit(0)
})
