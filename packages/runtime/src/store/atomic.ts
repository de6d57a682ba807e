/**
 * Atomic file writes: write to a temporary name in the same directory, fsync, rename
 * into place, fsync the directory. A reader sees the old file or the new one, never a
 * half-written one, even after kill -9 or power loss. A failed write (a full disk)
 * removes its temporary file. Temporary names carry the writer's pid, so that a later
 * run can tell the leftovers of a killed process (stale-temps.ts).
 */
import { randomBytes } from "node:crypto"
import { mkdir, open, rename, rm } from "node:fs/promises"
import { basename, dirname, join } from "node:path"
import { faultPoint } from "./faults.ts"
import { DIR_MODE, FILE_MODE } from "./permissions.ts"

/** A temporary sibling path of `path` (same directory, so rename is atomic). */
export const tempPathFor = (path: string): string =>
  join(dirname(path), `.tmp-${basename(path)}-${process.pid}-${randomBytes(4).toString("hex")}`)

/** fsyncs a directory so that a rename in it is durable. */
export const fsyncDir = async (dir: string): Promise<void> => {
  const fh = await open(dir, "r")
  try {
    await fh.sync()
  } finally {
    await fh.close()
  }
}

/** Writes `data` to `path` atomically. */
export const writeFileAtomic = async (path: string, data: Uint8Array | string, mode = FILE_MODE): Promise<void> => {
  await mkdir(dirname(path), { recursive: true, mode: DIR_MODE })
  const tmp = tempPathFor(path)
  const fh = await open(tmp, "w", mode)
  try {
    faultPoint("record", tmp)
    await fh.writeFile(data)
    await fh.sync()
  } catch (e) {
    await fh.close()
    await rm(tmp, { force: true })
    throw e
  }
  await fh.close()
  await renameIntoPlace(tmp, path)
}

/** Renames a complete temporary file into place and fsyncs the directory; a failed rename removes the temporary. */
export const renameIntoPlace = async (tmp: string, path: string): Promise<void> => {
  try {
    faultPoint("rename", path)
    await rename(tmp, path)
  } catch (e) {
    await rm(tmp, { force: true })
    throw e
  }
  await fsyncDir(dirname(path))
}

/** fsyncs a file by path. */
export const fsyncFile = async (path: string): Promise<void> => {
  const fh = await open(path, "r")
  try {
    await fh.sync()
  } finally {
    await fh.close()
  }
}
