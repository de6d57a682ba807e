/**
 * Mid-stage checkpoints (the dsl's Checkpoints service) in
 * runs/<run-id>/stages/<node>/checkpoints/step-<n>/: tensors.arrow (Arrow IPC) and
 * state.json (the stage's JSON state, the stage key and the tensors' hash). A
 * checkpoint directory is complete only once renamed into place; `latest` skips
 * damaged ones and ones written under another stage key (a changed config).
 */
import { Effect, Option } from "effect"
import { mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises"
import { join } from "node:path"
import type { Checkpoint } from "@dpipe/dsl"
import { CheckpointError, Checkpoints } from "@dpipe/dsl"
import { decodeTensors, encodeTensors } from "../codecs/tensors.ts"
import { hashBytes } from "../codecs/hash.ts"
import { messageOf } from "../errors.ts"
import { fsyncDir, fsyncFile, tempPathFor } from "./atomic.ts"
import { faultPoint } from "./faults.ts"
import { DIR_MODE, FILE_MODE } from "./permissions.ts"

interface StateFile {
  readonly format: "dpipe-checkpoint/1"
  readonly stageKey: string
  readonly step: number
  readonly tensorsHash: string
  readonly state: unknown
  readonly savedAt: string
}

const stepDir = (step: number): string => `step-${String(step).padStart(12, "0")}`

export const listCheckpointSteps = async (dir: string): Promise<Array<number>> => {
  try {
    return (await readdir(dir))
      .filter((n) => /^step-\d{12}$/.test(n))
      .map((n) => Number(n.slice(5)))
      .sort((a, b) => b - a)
  } catch {
    return []
  }
}

export const makeCheckpoints = (options: {
  readonly dir: string
  readonly stageKey: string
  readonly keep: number
  readonly warn: (message: string) => void
}): Checkpoints["Service"] => {
  const { dir, stageKey, keep, warn } = options
  const read = async (step: number): Promise<Checkpoint | undefined> => {
    const base = join(dir, stepDir(step))
    try {
      const state = JSON.parse(await readFile(join(base, "state.json"), "utf8")) as StateFile
      if (state.format !== "dpipe-checkpoint/1" || state.step !== step) throw new Error("malformed state.json")
      if (state.stageKey !== stageKey) {
        warn(`checkpoint ${base} was written under another stage key (the config or inputs changed): not restoring it`)
        return undefined
      }
      const bytes = new Uint8Array(await readFile(join(base, "tensors.arrow")))
      if (hashBytes(bytes) !== state.tensorsHash) throw new Error("tensors.arrow does not match its recorded hash")
      return { step, tensors: decodeTensors(bytes), state: state.state }
    } catch (e) {
      warn(`checkpoint ${base} is damaged (${messageOf(e)}); trying an older one`)
      return undefined
    }
  }
  return {
    latest: Effect.tryPromise({
      try: async () => {
        // Half-written checkpoints of a killed process are never renamed into place: drop them.
        for (const name of await readdir(dir).catch(() => [] as Array<string>)) {
          if (name.startsWith(".tmp-")) await rm(join(dir, name), { recursive: true, force: true })
        }
        for (const step of await listCheckpointSteps(dir)) {
          const cp = await read(step)
          if (cp !== undefined) return Option.some(cp)
        }
        return Option.none()
      },
      catch: (e) => new CheckpointError({ message: `reading checkpoints in ${dir}: ${messageOf(e)}` })
    }),
    save: (cp) =>
      Effect.tryPromise({
        try: async () => {
          await mkdir(dir, { recursive: true, mode: DIR_MODE })
          const final = join(dir, stepDir(cp.step))
          const tmp = tempPathFor(final)
          await mkdir(tmp, { mode: DIR_MODE })
          try {
            const bytes = encodeTensors(cp.tensors)
            const state: StateFile = { format: "dpipe-checkpoint/1", stageKey, step: cp.step, tensorsHash: hashBytes(bytes), state: cp.state, savedAt: new Date().toISOString() }
            faultPoint("checkpoint", join(tmp, "tensors.arrow"))
            await writeFile(join(tmp, "tensors.arrow"), bytes, { mode: FILE_MODE })
            faultPoint("checkpoint", join(tmp, "state.json"))
            await writeFile(join(tmp, "state.json"), JSON.stringify(state), { mode: FILE_MODE })
            await fsyncFile(join(tmp, "tensors.arrow"))
            await fsyncFile(join(tmp, "state.json"))
            await fsyncDir(tmp)
            await rm(final, { recursive: true, force: true })
            faultPoint("rename", final)
            await rename(tmp, final)
          } catch (e) {
            // A failed save (a full disk) leaves the older checkpoints and no partial one.
            await rm(tmp, { recursive: true, force: true })
            throw e
          }
          await fsyncDir(dir)
          for (const old of (await listCheckpointSteps(dir)).slice(keep)) await rm(join(dir, stepDir(old)), { recursive: true, force: true })
        },
        catch: (e) => new CheckpointError({ message: `writing checkpoint at step ${cp.step} in ${dir}: ${messageOf(e)}` })
      })
  }
}

