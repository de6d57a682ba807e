/**
 * Leftovers of killed processes. Every write into the store goes through a temporary
 * name, `.tmp-<name>-<pid>-<hex>` (atomic.ts), renamed into place when complete; a
 * process killed mid-write leaves its temporary file or directory behind (a stage's
 * half-written outputs in cache/, a checkpoint, run.json, a ledger). When a run
 * starts or resumes, once it holds its run lock, it removes every such temporary in
 * the store (its root, cache/, each run directory and each stage's checkpoints) whose writer is
 * gone. A writer is alive when its pid is a live process on this host, or when a run
 * lock in the store names that pid on another host (a store on a shared file system):
 * those temporaries are kept, since a live writer may still rename them.
 */
import { readdir, readFile, rm } from "node:fs/promises"
import { hostname } from "node:os"
import { join } from "node:path"
import type { StoreLayout } from "./layout.ts"
import { processAlive } from "./lock.ts"

const TEMP = /^\.tmp-.+-(\d+)-[0-9a-f]{8}$/

const list = async (dir: string): Promise<Array<string>> => {
  try {
    return await readdir(dir)
  } catch {
    return []
  }
}

/** Pids that hold a run lock of this store on another host. */
const remoteLockPids = async (store: StoreLayout, runs: ReadonlyArray<string>): Promise<Set<number>> => {
  const host = hostname()
  const pids = new Set<number>()
  for (const run of runs) {
    try {
      const holder = JSON.parse(await readFile(store.lockFile(run), "utf8")) as { readonly pid?: unknown; readonly host?: unknown }
      if (holder.host !== host && typeof holder.pid === "number") pids.add(holder.pid)
    } catch {
      // no lock, or one being written: nothing to protect
    }
  }
  return pids
}

/** Removes the temporaries of dead writers (or only lists them, `remove` false: `pipeline gc`'s dry run); returns their paths. */
export const removeStaleTemps = async (store: StoreLayout, remove = true): Promise<Array<string>> => {
  const runs = await list(store.runsDir)
  const remote = await remoteLockPids(store, runs)
  // The root holds the store's privacy ledger (and the secret while it is created).
  const dirs = [store.root, store.cacheDir]
  for (const run of runs) {
    dirs.push(store.runDir(run))
    for (const node of await list(join(store.runDir(run), "stages"))) dirs.push(store.checkpointsDir(run, node))
  }
  const removed: Array<string> = []
  for (const dir of dirs) {
    for (const name of await list(dir)) {
      const m = TEMP.exec(name)
      if (m === null) continue
      const pid = Number(m[1])
      if (pid === process.pid || remote.has(pid) || processAlive(pid)) continue
      if (remove) await rm(join(dir, name), { recursive: true, force: true })
      removed.push(join(dir, name))
    }
  }
  return removed
}
