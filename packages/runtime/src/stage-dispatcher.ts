/**
 * The stage dispatcher: where the executor has a stage executed once it knows the
 * stage's key and that the cache does not have it.
 *
 * The default, `localDispatcher`, executes the stage in this process (the executor's
 * `executeStage`). `pipeline run --cluster URL` provides the cluster dispatcher
 * (cluster/dispatcher.ts), which sends the stage to a runner and awaits its cache
 * manifest. Either way, planning, stage keys, the cache and the run record stay the
 * executor's; only the execution moves.
 */
import { Context, Effect } from "effect"
import type { LedgerError, Plan } from "@dpipe/dsl"
import type { RunEvent } from "./progress/events.ts"
import type { Manifest } from "./store/records.ts"

/** One stage to execute: what a runner needs to find it again and the local execution. */
export interface StageDispatch {
  readonly runId: string
  readonly plan: Plan.Plan
  readonly node: Plan.PlannedNode
  readonly key: string
  /** The stage's code fingerprint (a runner refuses to execute other code under this key). */
  readonly code: string
  /** Input name -> absolute path in this process's store and content hash. */
  readonly inputs: Readonly<Record<string, { readonly path: string; readonly hash: string }>>
  readonly checkpointKeep: number
  /** Today's in-process execution of the stage (outputs stored in the cache). */
  readonly local: Effect.Effect<Manifest, string>
  /** Reports an event of the stage (progress, info, telemetry, warnings) as the executor would. */
  readonly emit: (event: RunEvent) => void
  /** Records telemetry values in the run record (the runner executing the stage, tokens/s). */
  readonly telemetry: (values: Readonly<Record<string, number | string>>) => Effect.Effect<void>
}

export interface StageDispatcherShape {
  /** Executes the stage and returns its cache manifest; fails with a message; interruption propagates. */
  readonly dispatch: (stage: StageDispatch) => Effect.Effect<Manifest, string>
  /**
   * Serializes read-modify-writes of a run's privacy ledger file with every other
   * process that may write it (runners of a cluster); in-process, the executor's own
   * lock suffices.
   */
  readonly ledgerLock: (ledgerPath: string) => <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E | LedgerError, R>
  /**
   * How many stages of a run execute at once, given the pipeline's `concurrency`: that
   * limit in-process; on a cluster, the runners' slots are the limit.
   */
  readonly concurrency: (pipelineConcurrency: number) => number
}

export const localDispatcher: StageDispatcherShape = {
  dispatch: (stage) => stage.local,
  ledgerLock: () => (effect) => effect,
  concurrency: (n) => n
}

/** The dispatcher the executor uses: local unless a caller provides another. */
export const StageDispatcher = Context.Reference<StageDispatcherShape>("@dpipe/runtime/StageDispatcher", {
  defaultValue: () => localDispatcher
})
