/**
 * The noise multiplier calibrated to a budget by the authoritative PLD accountant, cached
 * by the calibration's inputs so that loading a pipeline stays fast.
 *
 * Pipelines calibrate sigma when they load (every scale preset, and again for `--set
 * params.*`). By PLD one calibration is a bracketed regula falsi over PLD evaluations
 * (calibrate.ts): seconds, where RDP takes milliseconds. Calibrating by RDP instead left
 * about a fifth of the PLD budget unused (RDP's epsilon bounds PLD's from above), so the
 * run spent less than its budget allowed and added more noise than needed.
 *
 * The cache is one JSON file, `$DPIPE_CALIBRATION_CACHE`, else
 * `$XDG_CACHE_HOME/dpipe/calibration.json`, else `~/.cache/dpipe/calibration.json`. An entry's
 * key is the sha256 of the canonical JSON of every input (q, T, target epsilon and delta,
 * N and the batch cap, the tolerance) and of the sources of @dpipe/accounting, so a change of
 * any input or of the accountant's code misses the cache and recalibrates. An unreadable or
 * malformed file is ignored (and rewritten); a file that cannot be written only costs the
 * next load the same seconds. The cache cannot weaken the guarantee: `plan` and `run` compute
 * the predicted spend by PLD from the sigma in the plan and refuse it above the budget
 * (docs/privacy.md, B2).
 */
import { Result, Schema } from "effect"
import { createHash } from "node:crypto"
import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import { homedir } from "node:os"
import { dirname, join } from "node:path"
import { calibrateNoiseMultiplier } from "@dpipe/accounting/calibrate"
import { canonicalJson } from "@dpipe/dsl"

export interface CalibrationInputs {
  readonly samplingRate: number
  readonly steps: number
  readonly epsilon: number
  readonly delta: number
  /** Set both for truncated Poisson batches. */
  readonly datasetSize?: number | undefined
  readonly batchCap?: number | undefined
  /** Relative tolerance of sigma (default 1e-3); the returned sigma is the checked upper end. */
  readonly relTol?: number | undefined
}

const CacheFile = Schema.Struct({
  format: Schema.Literal("dpipe-calibration/1"),
  entries: Schema.Record(Schema.String, Schema.Struct({ noiseMultiplier: Schema.Finite, inputs: Schema.Unknown }))
})
type CacheFile = typeof CacheFile.Type

/** Where the cache lives (see the header). */
export const calibrationCachePath = (): string =>
  process.env["DPIPE_CALIBRATION_CACHE"] ??
  join(process.env["XDG_CACHE_HOME"] ?? join(homedir(), ".cache"), "dpipe", "calibration.json")

const listSources = (dir: string): Array<string> =>
  readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const p = join(dir, name)
      return statSync(p).isDirectory() ? listSources(p) : p.endsWith(".ts") ? [p] : []
    })

let accountingHash: string | undefined
/** sha256 of @dpipe/accounting's sources (paths relative to its src/, and contents). */
export const accountingSourceHash = (): string => {
  if (accountingHash !== undefined) return accountingHash
  const src = dirname(createRequire(import.meta.url).resolve("@dpipe/accounting/calibrate"))
  const h = createHash("sha256")
  for (const file of listSources(src)) h.update(file.slice(src.length)).update("\0").update(readFileSync(file)).update("\0")
  accountingHash = h.digest("hex")
  return accountingHash
}

const normalised = (q: CalibrationInputs) => ({
  accountant: "pld",
  samplingRate: q.samplingRate,
  steps: q.steps,
  epsilon: q.epsilon,
  delta: q.delta,
  datasetSize: q.datasetSize ?? null,
  batchCap: q.batchCap ?? null,
  relTol: q.relTol ?? 1e-3
})

/** The cache key of a calibration: its inputs and the accountant's code. */
export const calibrationKey = (q: CalibrationInputs, codeHash: string = accountingSourceHash()): string =>
  createHash("sha256").update(canonicalJson({ inputs: normalised(q), code: codeHash })).digest("hex")

const readCache = (path: string): CacheFile => {
  try {
    return Schema.decodeUnknownSync(CacheFile)(JSON.parse(readFileSync(path, "utf8")))
  } catch {
    return { format: "dpipe-calibration/1", entries: {} }
  }
}

const writeCache = (path: string, key: string, noiseMultiplier: number, q: CalibrationInputs): void => {
  try {
    // Re-read just before writing, so that entries other processes added meanwhile are kept.
    const current = readCache(path)
    const next: CacheFile = { format: "dpipe-calibration/1", entries: { ...current.entries, [key]: { noiseMultiplier, inputs: normalised(q) } } }
    mkdirSync(dirname(path), { recursive: true })
    const tmp = `${path}.${process.pid}.${Date.now()}.tmp`
    writeFileSync(tmp, JSON.stringify(next, null, 1))
    renameSync(tmp, path)
  } catch {
    // An unwritable cache only costs the next load a recalibration.
  }
}

/**
 * The smallest noise multiplier (to `relTol`, default 1e-3) whose PLD epsilon after `steps`
 * steps at `delta` is at most `epsilon`: from the cache when these inputs were calibrated
 * before, else calibrated now and cached. Throws (at pipeline load) when no sigma reaches
 * the target, with the accountant's message.
 */
export const calibrateSigmaByPld = (q: CalibrationInputs): number => {
  const path = calibrationCachePath()
  const key = calibrationKey(q)
  const hit = readCache(path).entries[key]
  if (hit !== undefined && hit.noiseMultiplier > 0) return hit.noiseMultiplier
  const mechanism = q.datasetSize !== undefined && q.batchCap !== undefined
    ? { samplingRate: q.samplingRate, datasetSize: q.datasetSize, batchCap: q.batchCap }
    : { samplingRate: q.samplingRate }
  const r = calibrateNoiseMultiplier({ accountant: "pld", mechanism, steps: q.steps, epsilon: q.epsilon, delta: q.delta, relTol: q.relTol ?? 1e-3 })
  if (Result.isFailure(r)) throw new Error(`calibrating sigma by PLD for epsilon ${q.epsilon} at delta ${q.delta} (q=${q.samplingRate}, T=${q.steps}): ${r.failure.message}`)
  writeCache(path, key, r.success.noiseMultiplier, q)
  return r.success.noiseMultiplier
}
