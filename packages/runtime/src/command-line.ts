/**
 * Commands the runtime prints for the user to paste (`Continue with: ...`): each one
 * carries the flags it needs to work when pasted as printed, above all the run store
 * (`--store`, absolute) when it is not the default one, with shell quoting where a
 * path or value needs it.
 */
import { resolve } from "node:path"

/** A word as a POSIX shell reads it back unchanged. */
export const shellQuote = (word: string): string => (/^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`)

/** `--store <root>` unless the store is the default one (./.dpipe with no DPIPE_STORE). */
export const storeArgs = (store: { readonly root: string }): ReadonlyArray<string> =>
  store.root === resolve(".dpipe") && process.env["DPIPE_STORE"] === undefined ? [] : ["--store", store.root]

/** `pnpm pipeline <verb> <args...>` for this store, quoted for pasting. */
export const pipelineCommandLine = (store: { readonly root: string }, verb: string, args: ReadonlyArray<string> = []): string =>
  ["pnpm", "pipeline", verb, ...args, ...storeArgs(store)].map(shellQuote).join(" ")

/** The command that continues a run. */
export const resumeCommandLine = (store: { readonly root: string }, runId: string, args: ReadonlyArray<string> = []): string =>
  pipelineCommandLine(store, "resume", [runId, ...args])
