/**
 * Who may read the run store (docs/privacy.md, P10). The store holds a copy of the
 * private corpus, private sequences, the non-private model, checkpoints and the secret
 * that keys every noise draw, so it is created for its owner only: directories 0700,
 * files 0600. Every mkdir and file creation in the store passes these modes explicitly;
 * a umask only ever removes permission bits, so the result is owner-only whatever the
 * user's umask is. A store made by an older dpipe (0755 / 0644) is found by
 * `exposedEntries` and `run` warns about it with the command that fixes it.
 */
import { readdir, stat } from "node:fs/promises"
import { join, relative } from "node:path"
import type { StoreLayout } from "./layout.ts"

/** Mode of every directory dpipe creates in the store. */
export const DIR_MODE = 0o700
/** Mode of every file dpipe creates in the store. */
export const FILE_MODE = 0o600

const exposed = async (path: string): Promise<boolean> => {
  try {
    return ((await stat(path)).mode & 0o077) !== 0
  } catch {
    return false
  }
}

/**
 * Store paths (relative to the root) that group or others may access: the root, the
 * secret, cache/ and runs/ and their direct entries (a cache entry, a run directory).
 * Looking deeper would cost a stat per output file on every run; a store created by
 * dpipe with loose modes is loose at these levels too.
 */
export const exposedEntries = async (store: StoreLayout): Promise<Array<string>> => {
  const found: Array<string> = []
  for (const p of [store.root, store.secret, store.cacheDir, store.runsDir]) if (await exposed(p)) found.push(p)
  for (const dir of [store.cacheDir, store.runsDir]) {
    const names = await readdir(dir).catch(() => [] as Array<string>)
    for (const n of names) if (await exposed(join(dir, n))) found.push(join(dir, n))
  }
  return found.map((p) => relative(store.root, p) || ".")
}

/** The warning `run` prints for an exposed store. */
export const exposedWarning = (store: StoreLayout, entries: ReadonlyArray<string>): string =>
  `the run store ${store.root} is readable by other users of this machine (${entries.length} entr${entries.length === 1 ? "y" : "ies"}, e.g. ${entries.slice(0, 3).join(", ")}): ` +
  `it holds private data (the corpus copy, private sequences, the non-private model) and the secret behind every noise draw. ` +
  `Restrict it with: chmod -R go-rwx ${store.root}`

/**
 * Adds group and other bits to the process's umask, so that a file some code creates
 * without an explicit mode (a new writer, a library) is owner-only too. The explicit
 * modes above are the guarantee; this is the second line. Called by the executor
 * before it writes anything. A worker thread may not change the umask: there the
 * explicit modes stand alone.
 */
export const restrictUmask = (): void => {
  try {
    process.umask(process.umask() | 0o077)
  } catch {
    // worker threads cannot set the umask
  }
}
