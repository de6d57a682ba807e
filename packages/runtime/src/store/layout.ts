/**
 * The run store's directory layout (README.md, "The run store"):
 *
 *   <root>/secret.key                                   store secret (mode 0600)
 *   <root>/privacy-ledger.json                          store-wide spend per private dataset, budgets
 *   <root>/privacy-ledger.lock                          held while it is updated
 *   <root>/cache/<stage-key>/manifest.json + outputs     finished stage executions
 *   <root>/runs/<run-id>/run.json                        pipeline, scale, settings, status
 *   <root>/runs/<run-id>/ledger.parquet                  privacy ledger
 *   <root>/runs/<run-id>/lock                            held by the running process
 *   <root>/runs/<run-id>/logs/run.log
 *   <root>/runs/<run-id>/stages/<node>/checkpoints/      mid-stage checkpoints
 */
import { join, resolve } from "node:path"

export interface StoreLayout {
  readonly root: string
  readonly secret: string
  readonly privacyLedger: string
  readonly privacyLedgerLock: string
  readonly cacheDir: string
  readonly runsDir: string
  readonly cacheEntry: (key: string) => string
  readonly runDir: (runId: string) => string
  readonly runFile: (runId: string) => string
  readonly ledgerFile: (runId: string) => string
  readonly lockFile: (runId: string) => string
  readonly logFile: (runId: string) => string
  readonly checkpointsDir: (runId: string, node: string) => string
}

/** The default store location: --store, else DPIPE_STORE, else ./.dpipe. */
export const defaultStoreRoot = (explicit?: string): string => resolve(explicit ?? process.env["DPIPE_STORE"] ?? ".dpipe")

export const layout = (root: string): StoreLayout => {
  const r = resolve(root)
  return {
    root: r,
    secret: join(r, "secret.key"),
    privacyLedger: join(r, "privacy-ledger.json"),
    privacyLedgerLock: join(r, "privacy-ledger.lock"),
    cacheDir: join(r, "cache"),
    runsDir: join(r, "runs"),
    cacheEntry: (key) => join(r, "cache", key),
    runDir: (id) => join(r, "runs", id),
    runFile: (id) => join(r, "runs", id, "run.json"),
    ledgerFile: (id) => join(r, "runs", id, "ledger.parquet"),
    lockFile: (id) => join(r, "runs", id, "lock"),
    logFile: (id) => join(r, "runs", id, "logs", "run.log"),
    checkpointsDir: (id, node) => join(r, "runs", id, "stages", node, "checkpoints")
  }
}
