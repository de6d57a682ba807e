/**
 * A finished run as an exporter sees it: its nodes (stage, the content hash of each
 * input, each output's kind, label and hash) and a reader for their outputs.
 *
 * The reader is where the store's privacy rule holds for exports: an output labelled
 * `private` is read only when the user passed --private (as `inspect` shows private rows
 * only with it), and every read is checked against the hash in the run record, so a
 * damaged or altered file is never exported. The labels of everything read are kept:
 * their join is the export's label.
 */
import { Effect, Schema } from "effect"
import { resumeCommandLine } from "../command-line.ts"
import { createHash } from "node:crypto"
import { readFile } from "node:fs/promises"
import { join } from "node:path"
import { Privacy, type TensorMap } from "@dpipe/dsl"
import { decodeTensors } from "../codecs/tensors.ts"
import { messageOf } from "../errors.ts"
import { readRunRecord } from "../run-state.ts"
import type { StoreLayout } from "../store/layout.ts"
import { Manifest, type OutputRecord } from "../store/records.ts"
import { ExportFailed, ExportRefused } from "./errors.ts"

export interface RunNodeView {
  readonly id: string
  readonly stage: string
  /** Input name -> content hash (the hash of the output that was wired into it). */
  readonly inputs: Readonly<Record<string, string>>
  readonly outputs: Readonly<Record<string, Pick<OutputRecord, "kind" | "label" | "hash">>>
}

/** One output's bytes and label. */
export interface ArtifactBytes {
  readonly node: string
  readonly output: string
  readonly label: Privacy.PrivacyLabel
  readonly bytes: Uint8Array
}

export interface RunView {
  readonly runId: string
  readonly pipeline: string
  readonly scale: string
  /** The nodes that finished (done or cached), in run-record order. */
  readonly nodes: ReadonlyArray<RunNodeView>
  /** An output's bytes; fails with ExportRefused for a private output without --private. */
  readonly read: (node: string, output: string) => Effect.Effect<ArtifactBytes, ExportRefused | ExportFailed>
  /** A tensors output, decoded. */
  readonly readTensors: (node: string, output: string) => Effect.Effect<{ readonly label: Privacy.PrivacyLabel; readonly tensors: TensorMap }, ExportRefused | ExportFailed>
  /** The join of the labels of every output read so far (`public` before any read). */
  readonly label: Effect.Effect<Privacy.PrivacyLabel>
}

const readManifest = (path: string) =>
  Effect.tryPromise({
    try: async () => Schema.decodeUnknownSync(Manifest)(JSON.parse(await readFile(path, "utf8"))),
    catch: (e) => new ExportFailed({ message: `${path} is not a readable stage manifest (${messageOf(e)}); re-run the stage with \`pnpm pipeline resume\`` })
  })

/** Opens a run of the store for export. `allowPrivate` is the --private flag. */
export const openRunView = Effect.fn("openRunView")(function* (store: StoreLayout, runId: string, allowPrivate: boolean) {
  const record = yield* readRunRecord(store.runFile(runId), runId)
  const nodes: Array<RunNodeView & { readonly key: string; readonly files: Readonly<Record<string, string>> }> = []
  for (const [id, n] of Object.entries(record.nodes)) {
    if ((n.status !== "done" && n.status !== "cached") || n.key === undefined || n.outputs === undefined) continue
    const manifest = yield* readManifest(join(store.cacheEntry(n.key), "manifest.json"))
    nodes.push({
      id,
      stage: n.stage,
      key: n.key,
      inputs: manifest.inputs,
      outputs: Object.fromEntries(Object.entries(n.outputs).map(([k, o]) => [k, { kind: o.kind, label: o.label, hash: o.hash }])),
      files: Object.fromEntries(Object.entries(n.outputs).map(([k, o]) => [k, o.file]))
    })
  }
  let label: Privacy.PrivacyLabel = "public"

  const read = (nodeId: string, output: string): Effect.Effect<ArtifactBytes, ExportRefused | ExportFailed> =>
    Effect.gen(function* () {
      const node = nodes.find((n) => n.id === nodeId)
      if (node === undefined) {
        const status = record.nodes[nodeId]?.status
        return yield* new ExportFailed({
          message:
            status === undefined
              ? `Run ${runId} has no stage "${nodeId}". Its stages: ${Object.keys(record.nodes).join(", ")}.`
              : `Stage ${nodeId} of run ${runId} has not finished (status ${status}); finish it with \`${resumeCommandLine(store, runId)}\`.`
        })
      }
      const out = node.outputs[output]
      const file = node.files[output]
      if (out === undefined || file === undefined) {
        return yield* new ExportFailed({ message: `Stage ${nodeId} of run ${runId} has no output "${output}" (it has ${Object.keys(node.outputs).join(", ")}).` })
      }
      if (out.label === "private" && !allowPrivate) {
        return yield* new ExportRefused({
          runId,
          node: nodeId,
          message:
            `Stage ${nodeId} of run ${runId} (${node.stage}): its output "${output}" is labelled private (computed from private data without DP noise), so the export would carry private data out of the store. ` +
            `Export a stage whose outputs are dp or public, or add --private to export it anyway and keep the directory as private as the training data.`
        })
      }
      const path = join(store.cacheEntry(node.key), file)
      const bytes = yield* Effect.tryPromise({
        try: () => readFile(path),
        catch: (e) => new ExportFailed({ message: `cannot read ${path}: ${messageOf(e)}; re-run the stage with \`${resumeCommandLine(store, runId)}\`` })
      })
      const hash = createHash("sha256").update(bytes).digest("hex")
      if (hash !== out.hash) {
        return yield* new ExportFailed({ message: `${path} does not match its recorded hash (damaged or altered); re-run the run (\`pnpm pipeline run\` recomputes a damaged stage) before exporting.` })
      }
      label = Privacy.joinLabels(label, out.label)
      return { node: nodeId, output, label: out.label, bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) }
    })

  const view: RunView = {
    runId,
    pipeline: record.pipeline,
    scale: record.scale,
    nodes: nodes.map(({ id, stage, inputs, outputs }) => ({ id, stage, inputs, outputs })),
    read,
    readTensors: (nodeId, output) =>
      Effect.flatMap(read(nodeId, output), (a) =>
        Effect.try({
          try: () => ({ label: a.label, tensors: decodeTensors(a.bytes) }),
          catch: (e) => new ExportFailed({ message: `output "${output}" of stage ${nodeId} is not a tensors file: ${messageOf(e)}` })
        })
      ),
    label: Effect.sync(() => label)
  }
  return view
})
