/**
 * Pipeline discovery: one file per pipeline in the pipelines folder (default
 * ./pipelines, or DPIPE_PIPELINES), each exporting a PipelineGraph as `default` or
 * `pipeline`. The CLI finds a pipeline by its file name.
 */
import { Effect } from "effect"
import { readdir } from "node:fs/promises"
import { join, resolve } from "node:path"
import { pathToFileURL } from "node:url"
import type { PipelineGraph } from "@dpipe/dsl"
import { PipelineNotFound, messageOf } from "./errors.ts"

export const pipelinesDir = (explicit?: string): string => resolve(explicit ?? process.env["DPIPE_PIPELINES"] ?? "pipelines")

export const listPipelines = (dir: string) =>
  Effect.tryPromise({
    try: async () => (await readdir(dir)).filter((f) => f.endsWith(".ts") && !f.startsWith("_")).map((f) => f.slice(0, -3)).sort(),
    catch: (e) => new PipelineNotFound({ name: "", message: `Cannot list pipelines in ${dir}: ${messageOf(e)}` })
  })

const isGraph = (u: unknown): u is PipelineGraph =>
  typeof u === "object" && u !== null && "nodes" in u && Array.isArray((u as PipelineGraph).nodes) && typeof (u as PipelineGraph).name === "string"

export const loadPipeline = (dir: string, name: string) =>
  Effect.gen(function* () {
    const names = yield* listPipelines(dir)
    if (!names.includes(name)) {
      return yield* new PipelineNotFound({
        name,
        message: `Unknown pipeline "${name}". Available pipelines: ${names.join(", ") || "(none)"} (files in ${dir}).`
      })
    }
    const mod = yield* Effect.tryPromise({
      try: () => import(pathToFileURL(join(dir, `${name}.ts`)).href) as Promise<Record<string, unknown>>,
      catch: (e) => new PipelineNotFound({ name, message: `Pipeline file ${name}.ts failed to load: ${messageOf(e)}` })
    })
    const graph = mod["default"] ?? mod["pipeline"]
    if (!isGraph(graph)) {
      return yield* new PipelineNotFound({ name, message: `${name}.ts must export a pipeline (Pipeline.make(...)) as default or as "pipeline".` })
    }
    return graph
  })
