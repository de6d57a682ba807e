/**
 * The run lock: one process at a time per run directory. The lock file is created
 * with O_EXCL and holds the owner's pid and start time; a lock whose process is gone
 * (crash, kill -9) is stale and taken over.
 */
import { open, readFile, rm } from "node:fs/promises"

export interface LockInfo {
  readonly pid: number
  readonly host: string
  readonly startedAt: string
}

/** True when `pid` is a live process on this host. */
export const processAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM"
  }
}

/** Tries to take the lock; returns the holder's info when another live process has it. */
export const acquireLock = async (path: string): Promise<{ readonly acquired: true; readonly stale: LockInfo | undefined } | { readonly acquired: false; readonly holder: LockInfo }> => {
  const info: LockInfo = { pid: process.pid, host: (await import("node:os")).hostname(), startedAt: new Date().toISOString() }
  let stale: LockInfo | undefined
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fh = await open(path, "wx", 0o600)
      await fh.writeFile(JSON.stringify(info))
      await fh.sync()
      await fh.close()
      return { acquired: true, stale }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e
      let holder: LockInfo
      try {
        holder = JSON.parse(await readFile(path, "utf8")) as LockInfo
      } catch {
        holder = { pid: -1, host: "?", startedAt: "?" }
      }
      if (holder.host === info.host && holder.pid > 0 && processAlive(holder.pid) && holder.pid !== process.pid) {
        return { acquired: false, holder }
      }
      if (holder.host !== info.host && holder.pid > 0) return { acquired: false, holder }
      stale = holder
      await rm(path, { force: true })
    }
  }
  throw new Error(`could not take the lock ${path}`)
}

export const releaseLock = async (path: string): Promise<void> => {
  try {
    const holder = JSON.parse(await readFile(path, "utf8")) as LockInfo
    if (holder.pid === process.pid) await rm(path, { force: true })
  } catch {
    // already gone
  }
}

/** True when a live process on this host holds the lock at `path`. */
export const lockHeld = async (path: string): Promise<boolean> => {
  try {
    const holder = JSON.parse(await readFile(path, "utf8")) as LockInfo
    const host = (await import("node:os")).hostname()
    return holder.host !== host || (holder.pid > 0 && processAlive(holder.pid))
  } catch {
    return false
  }
}
