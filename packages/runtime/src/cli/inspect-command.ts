/**
 * `pipeline inspect <run-id> <stage>`: an artifact's schema, row count and first rows.
 * Rows of a private artifact are shown only with --private (exporting private data
 * needs an explicit flag); DP and public artifacts are shown freely.
 */
import * as arrow from "apache-arrow"
import { Effect } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { join } from "node:path"
import { readFile } from "node:fs/promises"
import { parquetInfo } from "../codecs/parquet-table.ts"
import { firstRows } from "../codecs/table-preview.ts"
import { decodeTensors } from "../codecs/tensors.ts"
import { RunNotFound, StoreError, messageOf } from "../errors.ts"
import { readRunRecord } from "../run-state.ts"
import { jsonFlag, optionValue, print, storeFlag, storeOf } from "./common.ts"

const show = (v: unknown): unknown => {
  if (v instanceof arrow.Vector) {
    const a = v.toArray() as ArrayLike<number>
    const head = Array.from({ length: Math.min(a.length, 16) }, (_, i) => a[i])
    return a.length > 16 ? `[${head.join(", ")}, ... (${a.length})]` : head
  }
  if (typeof v === "bigint") return Number(v)
  if (typeof v === "string" && v.length > 200) return `${v.slice(0, 200)}... (${v.length} chars)`
  return v
}

export const inspectCommand = Command.make(
  "inspect",
  {
    runId: Argument.String("run-id"),
    node: Argument.String("stage").pipe(Argument.withDescription("the node id in the pipeline")),
    output: Flag.String("output").pipe(Flag.withDescription("which output (default: all)"), Flag.optional),
    rows: Flag.Int("rows").pipe(Flag.withDescription("rows to show"), Flag.withDefault(5)),
    showPrivate: Flag.Boolean("private").pipe(Flag.withDescription("also show rows of private artifacts"), Flag.withDefault(false)),
    store: storeFlag,
    json: jsonFlag
  },
  (a) =>
    Effect.gen(function* () {
      const store = storeOf(a.store)
      const record = yield* readRunRecord(store.runFile(a.runId), a.runId)
      const node = record.nodes[a.node]
      if (node === undefined) {
        return yield* new RunNotFound({ runId: a.runId, message: `Run ${a.runId} has no stage "${a.node}". Its stages: ${Object.keys(record.nodes).join(", ")}.` })
      }
      if (node.outputs === undefined || node.key === undefined) {
        return yield* new RunNotFound({ runId: a.runId, message: `Stage ${a.node} of run ${a.runId} has no outputs yet (status ${node.status}).` })
      }
      const wanted = optionValue(a.output)
      if (wanted !== undefined && !(wanted in node.outputs)) {
        return yield* new RunNotFound({
          runId: a.runId,
          message: `Stage ${a.node} of run ${a.runId} has no output "${wanted}". Its outputs: ${Object.keys(node.outputs).join(", ")} (or leave out --output to show all).`
        })
      }
      const report: Array<Record<string, unknown>> = []
      for (const [name, out] of Object.entries(node.outputs)) {
        if (wanted !== undefined && name !== wanted) continue
        const path = join(store.cacheEntry(node.key), out.file)
        const entry: Record<string, unknown> = { output: name, kind: out.kind, label: out.label, path, bytes: out.bytes, sha256: out.hash }
        const mayShow = out.label !== "private" || a.showPrivate
        yield* Effect.tryPromise({
          try: async () => {
            if (out.kind === "table") {
              const info = await parquetInfo(path)
              entry["rows"] = info.numRows
              entry["schema"] = info.schema.fields.map((f) => `${f.name}: ${String(f.type)}`)
              if (mayShow) entry["head"] = await firstRows(path, a.rows, show)
            } else if (out.kind === "tensors") {
              const t = decodeTensors(new Uint8Array(await readFile(path)))
              entry["tensors"] = Object.entries(t).map(([k, v]) => `${k}: ${v.dtype}[${v.shape.join(", ")}]`)
            } else if (out.kind === "json" && mayShow) {
              const text = await readFile(path, "utf8")
              entry["value"] = text.length > 4000 ? `${text.slice(0, 4000)}...` : JSON.parse(text)
            }
            if (!mayShow) entry["note"] = "private artifact: rows hidden (add --private to show them)"
          },
          catch: (e) => new StoreError({ path, message: `cannot read ${path}: ${messageOf(e)}` })
        })
        report.push(entry)
      }
      if (a.json) return yield* print(JSON.stringify(report, null, 2))
      for (const e of report) yield* print(JSON.stringify(e, null, 2))
    })
).pipe(Command.withDescription("Show an artifact's schema, row count and first rows (private rows need --private)."))
