/**
 * Writes a directory of files atomically: every file goes into a temporary sibling
 * directory, is fsynced, and the directory is renamed into place (then its parent is
 * fsynced). A reader, or a crash, sees no directory or the whole one, never half an
 * export. An existing non-empty target is refused rather than overwritten.
 */
import { Effect } from "effect"
import { mkdir, open, readdir, rename, rm } from "node:fs/promises"
import { dirname, resolve } from "node:path"
import { messageOf } from "../errors.ts"
import { fsyncDir, tempPathFor } from "../store/atomic.ts"
import { ExportFailed } from "./errors.ts"

export interface DirFile {
  /** A plain file name (no directories). */
  readonly name: string
  readonly bytes: Uint8Array
}

const isEmptyOrMissing = async (dir: string): Promise<boolean> => {
  try {
    return (await readdir(dir)).length === 0
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return true
    throw e
  }
}

export const writeDirAtomic = Effect.fn("writeDirAtomic")(function* (target: string, files: ReadonlyArray<DirFile>) {
  const out = resolve(target)
  for (const f of files) {
    if (f.name === "" || f.name.includes("/") || f.name === "." || f.name === "..") {
      return yield* new ExportFailed({ message: `internal: export file name ${JSON.stringify(f.name)} is not a plain file name` })
    }
  }
  const free = yield* Effect.tryPromise({
    try: () => isEmptyOrMissing(out),
    catch: (e) => new ExportFailed({ message: `cannot look at ${out}: ${messageOf(e)}` })
  })
  if (!free) return yield* new ExportFailed({ message: `${out} already exists and is not empty; choose a new --out directory or remove it first.` })
  const tmp = tempPathFor(out)
  yield* Effect.tryPromise({
    try: async () => {
      try {
        await mkdir(dirname(out), { recursive: true })
        await mkdir(tmp)
        for (const f of files) {
          const fh = await open(resolve(tmp, f.name), "wx", 0o644)
          try {
            await fh.writeFile(f.bytes)
            await fh.sync()
          } finally {
            await fh.close()
          }
        }
        await fsyncDir(tmp)
        await rename(tmp, out)
        await fsyncDir(dirname(out))
      } catch (e) {
        await rm(tmp, { recursive: true, force: true })
        throw e
      }
    },
    catch: (e) => new ExportFailed({ message: `cannot write the export to ${out}: ${messageOf(e)}; nothing was written there.` })
  })
  return out
})
