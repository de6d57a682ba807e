/**
 * Fault points: test-only hooks at every write and rename of the run store, so tests
 * can kill a run or fill its disk at an exact point (README, "The run store"). Inert
 * unless one of these environment variables is set:
 *
 *   DPIPE_TEST_FAULT=kill:<kind>[:<fragment>]@<n>
 *       SIGKILL this process at the n-th point of that kind whose path contains
 *       <fragment> (kind `any` matches every point).
 *   DPIPE_TEST_FAULT=enospc:<kind>[:<fragment>]@<n>
 *       from the n-th matching point on, every matching write fails with ENOSPC, as
 *       on a full disk (a disk does not empty itself between two writes).
 *   DPIPE_TEST_FAULT_TRACE=<file>
 *       appends "<kind> <path>" for every point, so that a test can draw points from
 *       an uninterrupted reference run.
 *
 * Kinds: `output` (one chunk of an output file), `manifest`, `checkpoint` (a
 * checkpoint file), `ledger` (a chunk of the privacy ledger), `record` (run.json and
 * published files), `rename` (a finished directory or file renamed into place).
 */
import { appendFileSync } from "node:fs"

export type FaultKind = "output" | "manifest" | "checkpoint" | "ledger" | "record" | "rename"

interface FaultSpec {
  readonly action: "kill" | "enospc"
  readonly kind: FaultKind | "any"
  readonly fragment: string
  readonly at: number
}

const parse = (text: string): FaultSpec | undefined => {
  const m = /^(kill|enospc):([a-z]+)(?::(.*))?@(\d+)$/.exec(text)
  if (m === null) throw new Error(`DPIPE_TEST_FAULT=${text} is not kill|enospc:<kind>[:<fragment>]@<n>`)
  return { action: m[1] as FaultSpec["action"], kind: m[2] as FaultSpec["kind"], fragment: m[3] ?? "", at: Number(m[4]) }
}

let active: { readonly text: string; readonly spec: FaultSpec | undefined; count: number } | undefined

const sleepUntilKilled = (): never => {
  for (;;) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000)
}

/** Marks a point where the store is about to write or rename `path`. */
export const faultPoint = (kind: FaultKind, path: string): void => {
  const trace = process.env["DPIPE_TEST_FAULT_TRACE"]
  if (trace !== undefined && trace !== "") appendFileSync(trace, `${kind} ${path}\n`)
  const text = process.env["DPIPE_TEST_FAULT"]
  if (text === undefined || text === "") return
  if (active?.text !== text) active = { text, spec: parse(text), count: 0 }
  const spec = active.spec
  if (spec === undefined || (spec.kind !== "any" && spec.kind !== kind) || !path.includes(spec.fragment)) return
  active.count++
  if (active.count < spec.at) return
  if (spec.action === "kill") {
    if (active.count > spec.at) return
    process.kill(process.pid, "SIGKILL")
    sleepUntilKilled()
  }
  throw Object.assign(new Error(`ENOSPC: no space left on device, write '${path}'`), { code: "ENOSPC", errno: -28, syscall: "write", path })
}
