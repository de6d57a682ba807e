/**
 * A run's status as it is now: a run recorded as running whose process is gone (kill -9,
 * power loss) was interrupted, and so were its running stages. `status`, `runs` and the
 * dashboard read run records through this.
 */
import type { StoreLayout } from "./layout.ts"
import { lockHeld } from "./lock.ts"
import type { RunRecord } from "./records.ts"

export const withLiveStatus = async (store: StoreLayout, record: RunRecord): Promise<RunRecord> =>
  record.status === "running" && !(await lockHeld(store.lockFile(record.runId)))
    ? {
        ...record,
        status: "interrupted",
        nodes: Object.fromEntries(Object.entries(record.nodes).map(([k, n]) => [k, n.status === "running" ? { ...n, status: "interrupted" as const } : n]))
      }
    : record
