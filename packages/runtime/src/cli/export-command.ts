/**
 * `pipeline export <run-id> [--stage S] --format F --out DIR [--private] [--store D]`:
 * writes a trained model of a run as a directory other tools load. What goes into the
 * directory is the domain's (the model's layout, its config, the tokenizer and privacy
 * statement that belong with it); the composition root (bin/pipeline.ts) passes it in
 * as a `ModelExportApi`, so the runtime keeps importing nothing from stages or the
 * engine. The runtime's part: find the run, read outputs only through a `RunView`
 * (private outputs need --private, every read is hash-checked), write the files
 * atomically, and print what was written and its privacy label.
 */
import { Effect } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import type { Privacy } from "@dpipe/dsl"
import { ExportFailed } from "../export/errors.ts"
import { openRunView, type RunView } from "../export/run-view.ts"
import { type DirFile, writeDirAtomic } from "../export/write-dir.ts"
import { jsonFlag, print, storeFlag, storeOf } from "./common.ts"

export type { ArtifactBytes, RunNodeView, RunView } from "../export/run-view.ts"
export type { DirFile } from "../export/write-dir.ts"

export interface ExportRequest {
  /** The node id of the training stage whose model is exported. */
  readonly stage: string
  readonly format: string
}

/** The files of an export; `label` is the label the domain wrote into them. */
export interface ExportResult {
  readonly files: ReadonlyArray<DirFile>
  readonly label: Privacy.PrivacyLabel
  /** One line on what was exported (shape, parameters). */
  readonly summary: string
}

export interface ModelExportApi {
  /** Format names for --format, with a line on each. */
  readonly formats: Readonly<Record<string, string>>
  readonly defaultStage: string
  readonly build: (view: RunView, request: ExportRequest) => Effect.Effect<ExportResult, { readonly _tag: string; readonly message: string }>
}

export const makeExportCommand = (api: ModelExportApi) =>
  Command.make(
    "export",
    {
      runId: Argument.String("run-id"),
      stage: Flag.String("stage").pipe(Flag.withDescription(`the training node whose model to export (default ${api.defaultStage})`), Flag.withDefault(api.defaultStage)),
      format: Flag.String("format").pipe(Flag.withDescription(Object.entries(api.formats).map(([k, v]) => `${k}: ${v}`).join("; "))),
      out: Flag.String("out").pipe(Flag.withDescription("directory to create (must not exist or be empty)")),
      allowPrivate: Flag.Boolean("private").pipe(Flag.withDescription("allow exporting a model labelled private (the non-private baseline)"), Flag.withDefault(false)),
      store: storeFlag,
      json: jsonFlag
    },
    (a) =>
      Effect.gen(function* () {
        if (!(a.format in api.formats)) {
          return yield* new ExportFailed({ message: `unknown --format ${JSON.stringify(a.format)}; the formats are: ${Object.keys(api.formats).join(", ")}.` })
        }
        const view = yield* openRunView(storeOf(a.store), a.runId, a.allowPrivate)
        const result = yield* api.build(view, { stage: a.stage, format: a.format })
        const read = yield* view.label
        if (read !== result.label) {
          return yield* new ExportFailed({ message: `internal: the export says it is ${result.label} but read ${read} artifacts; nothing was written.` })
        }
        const dir = yield* writeDirAtomic(a.out, result.files)
        const files = result.files.map((f) => ({ name: f.name, bytes: f.bytes.length }))
        if (a.json) return yield* print(JSON.stringify({ dir, label: result.label, summary: result.summary, files }))
        yield* print(
          [
            `exported ${a.stage} of run ${a.runId} as ${a.format} to ${dir} (label ${result.label})`,
            `  ${result.summary}`,
            ...files.map((f) => `  ${f.name} (${f.bytes} bytes)`),
            ...(result.label === "private" ? ["  PRIVATE: this model was trained on private data without DP; keep the directory as private as that data."] : [])
          ].join("\n")
        )
      })
  ).pipe(Command.withDescription("Write a trained model as a directory other tools load (--format hf: a Hugging Face Gemma model); private models need --private."))
