/**
 * `pipeline gc` and `pipeline rm <run>` (store/gc.ts): free the space of cache entries
 * no run uses and of removed runs. Both measure first; gc deletes only with --yes.
 */
import { Effect } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { relative } from "node:path"
import { releaseReservations } from "../dataset-budget.ts"
import { pipelineCommandLine } from "../command-line.ts"
import { collectGarbage, formatBytes, removeRun } from "../store/gc.ts"
import { jsonFlag, print, storeFlag, storeOf, textTable } from "./common.ts"

const yesFlag = Flag.Boolean("yes").pipe(Flag.withDescription("delete (without it, only show what would be deleted)"), Flag.withDefault(false))

export const gcCommand = Command.make("gc", { store: storeFlag, yes: yesFlag, json: jsonFlag }, (a) =>
  Effect.gen(function* () {
    const store = storeOf(a.store)
    const report = yield* collectGarbage(store, a.yes)
    if (a.json) return yield* print(JSON.stringify(report, null, 2))
    const rows = report.items.map((i) => [relative(store.root, i.path), i.kind, i.stage ?? "", formatBytes(i.bytes)])
    let text = report.items.length === 0 ? `nothing to remove in ${store.root}` : textTable(["path", "kind", "stage", "size"], rows)
    text += `\n${report.kept} cache entr${report.kept === 1 ? "y" : "ies"} used by runs kept`
    if (report.carried.length > 0) text += `; ${report.carried.length} entr${report.carried.length === 1 ? "y" : "ies"} made by \`pipeline carry\` kept (no run uses them yet)`
    if (report.items.length > 0) {
      text += report.deleted
        ? `\nremoved ${report.items.length} item(s), ${formatBytes(report.bytes)} freed`
        : `\ndry run: ${report.items.length} item(s), ${formatBytes(report.bytes)} would be freed. Delete them with: ${pipelineCommandLine(store, "gc", ["--yes"])}`
    }
    yield* print(text)
  })
).pipe(Command.withDescription("Remove cache entries that no run uses and temporary files of killed processes (a dry run unless --yes)."))

export const rmCommand = Command.make(
  "rm",
  { runId: Argument.String("run-id").pipe(Argument.withDescription("the run to remove (see `pipeline runs`)")), store: storeFlag, json: jsonFlag },
  (a) =>
    Effect.gen(function* () {
      const store = storeOf(a.store)
      const removed = yield* removeRun(store, a.runId, true)
      // A reservation is not spend: a killed run's reservation goes with it.
      yield* Effect.ignore(releaseReservations(store, a.runId))
      if (a.json) return yield* print(JSON.stringify(removed))
      yield* print(
        `removed run ${removed.runId} (${formatBytes(removed.bytes)}: record, logs, checkpoints, run ledger, published files).\n` +
          (removed.ledgerEntries > 0
            ? `The privacy it spent stays spent: its ${removed.ledgerEntries} entr${removed.ledgerEntries === 1 ? "y stays" : "ies stay"} in the store's privacy ledger (dataset${removed.datasets.length === 1 ? "" : "s"} ${removed.datasets.join(", ")}; see \`pipeline budget\`).\n`
            : "The store's privacy ledger is unchanged (removing a run never gives privacy back).\n") +
          `Cache entries only this run used stay until ${pipelineCommandLine(store, "gc")} (a dry run; add --yes to delete).`
      )
    })
).pipe(Command.withDescription("Remove a run's directory (refused while it runs). Privacy it spent stays recorded in the store's privacy ledger."))
