/**
 * The events of a stage executed by a runner: the runner appends them (progress,
 * info, telemetry, warnings) to `runs/<run>/logs/remote/<node>.jsonl` in the shared
 * store, one JSON line each; the coordinator follows the file and reports them as if
 * the stage ran in its process (the terminal, run.log, events.jsonl, run.json's telemetry).
 */
import { join } from "node:path"
import type { StoreLayout } from "../store/layout.ts"

export const remoteEventsFile = (store: StoreLayout, runId: string, node: string): string =>
  join(store.runDir(runId), "logs", "remote", `${node.replace(/[^A-Za-z0-9_.-]/g, "_")}.jsonl`)
