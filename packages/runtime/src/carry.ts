/**
 * `pipeline carry`: keeps a run's cache across a refactor that changes no results.
 *
 * A stage key includes the fingerprint of the stage's code (code/fingerprint.ts), so
 * any edit to a stage's modules recomputes it. When the user knows an edit changes no
 * result (a rename, a comment, code moved between files), `carry <run-id>` re-keys the
 * run's cache entries under the current code: for each node in order, if recomputing
 * its old key with the old code fingerprint and everything else as it is now (stage
 * name, version, config, input contents, sources) gives the old key back, the code is
 * the only thing that changed, and the outputs are copied under the new key with a
 * manifest that says where they came from (`carriedFrom`). A node whose config,
 * version or inputs changed is left to be recomputed, and so is everything after it.
 * Nothing runs and the run record is not changed: the next `run` or `resume` finds the
 * carried entries in the cache (docs/architecture.md, "Stage keys and what is not keyed").
 */
import { Effect } from "effect"
import { chmod, copyFile, mkdir, rename, rm, writeFile } from "node:fs/promises"
import { join } from "node:path"
import type { Plan } from "@dpipe/dsl"
import { stageKey } from "@dpipe/dsl"
import { planFingerprints } from "./code/fingerprint.ts"
import { StoreError, messageOf } from "./errors.ts"
import { verifyCacheEntry } from "./executor.ts"
import { sourceHashes } from "./sources.ts"
import { fsyncDir, fsyncFile, tempPathFor } from "./store/atomic.ts"
import type { StoreLayout } from "./store/layout.ts"
import type { Manifest, RunRecord } from "./store/records.ts"

export type CarryOutcome =
  | { readonly node: string; readonly status: "carried"; readonly from: string; readonly to: string }
  | { readonly node: string; readonly status: "unchanged"; readonly key: string }
  | { readonly node: string; readonly status: "recompute"; readonly reason: string }

const tryStore = <A>(path: string, what: string, f: () => Promise<A>) =>
  Effect.tryPromise({ try: f, catch: (e) => new StoreError({ path, message: `${what}: ${messageOf(e)}` }) })

/** Copies a verified cache entry to `key`, atomically, with a manifest naming its origin. */
const copyEntry = async (store: StoreLayout, from: Manifest, key: string, code: string): Promise<void> => {
  const source = store.cacheEntry(from.key)
  const target = store.cacheEntry(key)
  const tmp = tempPathFor(target)
  try {
    await mkdir(tmp, { recursive: true, mode: 0o700 })
    for (const out of Object.values(from.outputs)) {
      await copyFile(join(source, out.file), join(tmp, out.file))
      await chmod(join(tmp, out.file), 0o600)
      await fsyncFile(join(tmp, out.file))
    }
    const manifest: Manifest = { ...from, key, code, carriedFrom: from.key }
    await writeFile(join(tmp, "manifest.json"), JSON.stringify(manifest, null, 2) + "\n", { mode: 0o600 })
    await fsyncFile(join(tmp, "manifest.json"))
    await fsyncDir(tmp)
    try {
      await rename(tmp, target)
    } catch (e) {
      const errno = (e as NodeJS.ErrnoException).code
      if (errno !== "ENOTEMPTY" && errno !== "EEXIST") throw e
      await rm(tmp, { recursive: true, force: true })
    }
    await fsyncDir(store.cacheDir)
  } catch (e) {
    await rm(tmp, { recursive: true, force: true })
    throw e
  }
}

/** Re-keys the cache entries of `record` (a run of `plan`'s pipeline) under the current code. */
export const carryRun = Effect.fn("carryRun")(function* (options: {
  readonly store: StoreLayout
  readonly plan: Plan.Plan
  readonly record: RunRecord
  /** Only these nodes (default: every node). */
  readonly only?: ReadonlyArray<string>
}) {
  const { store, plan, record } = options
  const codes = yield* planFingerprints(plan)
  const outputs = new Map<string, Readonly<Record<string, string>>>()
  const outcomes: Array<CarryOutcome> = []
  for (const node of plan.nodes) {
    const recompute = (reason: string) => outcomes.push({ node: node.id, status: "recompute", reason })
    const inputs: Record<string, string> = {}
    const missing = Object.entries(node.inputs).filter(([name, ref]) => {
      const h = outputs.get(ref.node)?.[ref.output]
      if (h !== undefined) inputs[name] = h
      return h === undefined
    })
    if (missing.length > 0) {
      recompute(`its input ${missing[0]![0]} comes from ${missing[0]![1].node}, which will be recomputed`)
      continue
    }
    const oldKey = record.nodes[node.id]?.key
    if (oldKey === undefined) {
      recompute(`it did not finish in run ${record.runId}`)
      continue
    }
    const old = yield* tryStore(store.cacheEntry(oldKey), "reading the cache", () => verifyCacheEntry(store.cacheEntry(oldKey), oldKey))
    if (old === undefined || typeof old === "string") {
      recompute(old === undefined ? `its cache entry ${oldKey.slice(0, 12)} is gone` : `its cache entry ${oldKey.slice(0, 12)} is damaged: ${old}`)
      continue
    }
    const sources = yield* tryStore(node.id, `hashing the sources of ${node.id}`, () => sourceHashes(node.sources))
    const parts = { stage: node.stage.name, version: node.stage.version, config: node.configEncoded, inputs: { ...sources, ...inputs } }
    const key = stageKey({ ...parts, code: codes[node.id]! })
    if (key === oldKey) {
      outcomes.push({ node: node.id, status: "unchanged", key })
      outputs.set(node.id, Object.fromEntries(Object.entries(old.outputs).map(([k, o]) => [k, o.hash])))
      continue
    }
    if (old.code === undefined) {
      recompute("its cache entry predates code fingerprints (its manifest records no code), so what changed cannot be told")
      continue
    }
    if (stageKey({ ...parts, code: old.code }) !== oldKey) {
      recompute("its stage name, version, config, inputs or sources changed, not only its code")
      continue
    }
    if (options.only !== undefined && !options.only.includes(node.id)) {
      recompute("its code changed and it was not named with --node")
      continue
    }
    const existing = yield* tryStore(store.cacheEntry(key), "reading the cache", () => verifyCacheEntry(store.cacheEntry(key), key))
    if (existing === undefined || typeof existing === "string") {
      if (typeof existing === "string") yield* tryStore(store.cacheEntry(key), "removing a damaged cache entry", () => rm(store.cacheEntry(key), { recursive: true, force: true }))
      yield* tryStore(store.cacheEntry(key), `carrying ${node.id} to ${key.slice(0, 12)}`, () => copyEntry(store, old, key, codes[node.id]!))
    }
    outcomes.push({ node: node.id, status: "carried", from: oldKey, to: key })
    outputs.set(node.id, Object.fromEntries(Object.entries(old.outputs).map(([k, o]) => [k, o.hash])))
  }
  return outcomes
})
