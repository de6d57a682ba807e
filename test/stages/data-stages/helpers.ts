/** Helpers for the data-stage tests: temporary stores, reading a run's outputs. */
import { mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Exit, Option } from "effect"
import { Checkpoints, PrivacyLedger, Progress, type Table } from "@dpipe/dsl"
import { readParquetTable, type RunSummary } from "@dpipe/runtime"

export const tempDir = (prefix = "dpipe-data-stages-"): string => mkdtempSync(join(tmpdir(), prefix))

/** The summary of a successful run, or a test failure naming the cause. */
export const ok = (exit: Exit.Exit<RunSummary, unknown>): RunSummary => {
  if (Exit.isFailure(exit)) throw new Error(`run failed: ${String(exit.cause)}`)
  return exit.value
}

/** The path of output `file` of `node` in a finished run. */
export const outputPath = (store: string, summary: RunSummary, node: string, file: string): string => {
  const key = summary.record.nodes[node]?.key
  if (key === undefined) throw new Error(`node ${node} has no key`)
  return join(store, "cache", key, file)
}

/** All rows of a Parquet table output. */
export const readTable = async <R>(path: string, table: Table.TableSchema<string, R>): Promise<Array<R>> => {
  const rows: Array<R> = []
  for await (const batch of readParquetTable(path, table)) rows.push(...batch)
  return rows
}

export const readJson = (path: string): unknown => JSON.parse(readFileSync(path, "utf8"))

/** Provides no-op stage services, for calling a stage's run directly. */
export const withStubServices = <A, E>(effect: Effect.Effect<A, E, Checkpoints | Progress | PrivacyLedger>): Effect.Effect<A, E> =>
  effect.pipe(
    Effect.provideService(Progress, { update: () => Effect.void, info: () => Effect.void, telemetry: () => Effect.void }),
    Effect.provideService(Checkpoints, { latest: Effect.succeed(Option.none()), save: () => Effect.void }),
    Effect.provideService(PrivacyLedger, {
      record: () => Effect.void,
      check: () => Effect.succeed({ epsilon: 0, budgetEpsilon: undefined, delta: undefined, withinBudget: true })
    })
  )
