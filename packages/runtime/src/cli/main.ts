/**
 * The `pipeline` CLI (README.md, "The `pipeline` CLI"): list, plan, run, resume, status,
 * runs, inspect, carry, diff, rm, gc, ui (and account, budget, ledger and export, which
 * the composition root adds). Exit code 0 on success;
 * on failure a one-paragraph explanation on stderr and a non-zero code (130 after
 * Ctrl-C, with the resume command printed).
 */
import { Console, Effect, Layer } from "effect"
import { CliError, CliOutput, Command } from "effect/cli"
import { carryCommand } from "./carry-command.ts"
import { infoCommands } from "./info-index.ts"
import { inspectCommand } from "./inspect-command.ts"
import { gcCommand, rmCommand } from "./gc-command.ts"
import { diffCommand } from "./diff-command.ts"
import { resumeCommand, runCommand } from "./run-commands.ts"
import { clusterCommand } from "./cluster-command.ts"
import { runnerCommand } from "./runner-command.ts"
import { makeUiCommand } from "./ui-command.ts"
import type { StoreBudget } from "../ui/store-budget.ts"

/** A subcommand contributed by the composition root (e.g. `account`, which needs the accountants). */
export type ExtraCommand = Command.Command.Any

/** What the composition root supplies beyond extra verbs: the dashboard's store budget (it needs the accountants). */
export interface CliOptions {
  readonly storeBudget?: Layer.Layer<StoreBudget>
}

export const pipelineCommand = (extra: ReadonlyArray<ExtraCommand> = [], options: CliOptions = {}) =>
  Command.make("pipeline").pipe(
    Command.withDescription("dpipe: differentially private LM pretraining pipelines"),
    Command.withSubcommands([...infoCommands, runCommand, resumeCommand, inspectCommand, carryCommand, diffCommand, rmCommand, gcCommand, makeUiCommand(options.storeBudget), runnerCommand, clusterCommand, ...extra])
  )

/**
 * A mistyped invocation (an unknown flag, a missing argument) gets the problem, the
 * usage line and the command's flags on stderr, not the whole help page.
 */
const presenter: CliOutput.Presenter = {
  present: (event) =>
    event._tag !== "InvalidInvocation"
      ? CliOutput.defaultPresenter.present(event)
      : Effect.gen(function* () {
          const doc = event.helpDoc
          const flags = doc.flags.map((f) => `--${f.name}${f.type === "boolean" ? "" : ` ${f.type}`}`).join(" ")
          const help = `pnpm pipeline ${event.commandPath.slice(1).join(" ")} --help`.replace(/\s+/g, " ")
          const verbs = (doc.subcommands ?? []).flatMap((g) => g.commands.map((c) => c.name))
          yield* Console.error(
            `${event.errors.map((e) => e.message).join("\n")}\nusage: ${doc.usage}${verbs.length > 0 ? `\ncommands: ${verbs.join(", ")}` : ""}` +
              `${flags !== "" ? `\nflags: ${flags}` : ""}\n(all options: ${help})`
          )
        })
}

/** A one-paragraph message for any failure. */
export const explain = (e: unknown): string => {
  if (typeof e === "object" && e !== null && "message" in e && typeof (e as { message: unknown }).message === "string") {
    const tag = "_tag" in e ? String((e as { _tag: unknown })._tag) : "Error"
    return `${tag}: ${(e as { message: string }).message}`
  }
  return String(e)
}

export const runCli = (argv: ReadonlyArray<string>, extra: ReadonlyArray<ExtraCommand> = [], options: CliOptions = {}): Effect.Effect<void, never, Command.Environment> =>
  (Command.runWith(pipelineCommand(extra, options), { version: "0.1.0" })(argv) as Effect.Effect<void, unknown, Command.Environment>).pipe(
    Effect.provideService(CliOutput.Presenter, presenter),
    Effect.catch((e: unknown) =>
      Effect.sync(() => {
        if (CliError.isCliError(e) || (typeof e === "object" && e !== null && "_tag" in e && String((e as { _tag: unknown })._tag).startsWith("Cli"))) {
          // effect/cli has already printed the usage problem.
          process.exitCode = 2
          return
        }
        process.stderr.write(`${explain(e)}\n`)
        process.exitCode = (e as { _tag?: string })._tag === "RunInterrupted" ? 130 : 1
      })
    )
  )
