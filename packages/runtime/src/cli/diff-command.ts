/**
 * `pipeline diff <run-a> <run-b>`: what differs between two runs: scale and `--set`
 * settings, each stage's config (from its cache entry's manifest), stage keys (a stage
 * whose key differs computed something else), status, privacy spent and the pipeline's
 * summary output. Values of a private summary are shown only with --private.
 */
import { Effect, Schema } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { readFile } from "node:fs/promises"
import { join } from "node:path"
import { loadPipeline, pipelinesDir } from "../pipelines.ts"
import { readRunRecord } from "../run-state.ts"
import type { StoreLayout } from "../store/layout.ts"
import { Manifest, type RunRecord } from "../store/records.ts"
import { jsonFlag, print, storeFlag, storeOf, textTable } from "./common.ts"

/** "a.b" -> value for every leaf of a JSON value. */
export const leaves = (value: unknown, prefix = ""): Map<string, string> => {
  const out = new Map<string, string>()
  const walk = (v: unknown, p: string) => {
    if (v !== null && typeof v === "object" && !Array.isArray(v)) {
      const entries = Object.entries(v as Record<string, unknown>)
      if (entries.length === 0) out.set(p, "{}")
      for (const [k, x] of entries) walk(x, p === "" ? k : `${p}.${k}`)
    } else out.set(p, typeof v === "number" && !Number.isInteger(v) ? v.toPrecision(6) : JSON.stringify(v))
  }
  walk(value, prefix)
  return out
}

export interface Difference {
  readonly what: string
  readonly a: string
  readonly b: string
}

/** The leaves whose values differ (a missing leaf shows as "-"). */
export const differences = (a: Map<string, string>, b: Map<string, string>, prefix = ""): Array<Difference> =>
  [...new Set([...a.keys(), ...b.keys()])].sort()
    .filter((k) => a.get(k) !== b.get(k))
    .map((k) => ({ what: prefix === "" ? k : k === "" ? prefix : `${prefix}.${k}`, a: a.get(k) ?? "-", b: b.get(k) ?? "-" }))

const readJson = (path: string) => Effect.promise(() => readFile(path, "utf8").then((t) => JSON.parse(t) as unknown).catch(() => undefined))

const manifestOf = (store: StoreLayout, key: string | undefined) =>
  key === undefined
    ? Effect.succeed(undefined)
    : Effect.map(readJson(join(store.cacheEntry(key), "manifest.json")), (j) => (j === undefined ? undefined : Schema.decodeUnknownOption(Manifest)(j).pipe((o) => (o._tag === "Some" ? o.value : undefined))))

export const diffRuns = (store: StoreLayout, a: RunRecord, b: RunRecord, showPrivate: boolean) =>
  Effect.gen(function* () {
    const config: Array<Difference> = [
      ...(a.pipeline !== b.pipeline ? [{ what: "pipeline", a: a.pipeline, b: b.pipeline }] : []),
      ...(a.scale !== b.scale ? [{ what: "scale", a: a.scale, b: b.scale }] : []),
      ...differences(leaves(a.settings), leaves(b.settings)).map((d) => ({ ...d, what: `--set ${d.what}` })),
      // Forced stages are keyed with their run id: that, not a setting, is why their keys differ.
      ...((a.forced ?? []).join(",") !== (b.forced ?? []).join(",") ? [{ what: "--force (with what depends on it)", a: a.forced?.join(", ") ?? "-", b: b.forced?.join(", ") ?? "-" }] : []),
      ...((a.cacheOnly ?? []).join(",") !== (b.cacheOnly ?? []).join(",") ? [{ what: "reused only (--only)", a: a.cacheOnly?.join(", ") ?? "-", b: b.cacheOnly?.join(", ") ?? "-" }] : [])
    ]
    const stages: Array<Difference> = []
    const keys: Array<Difference> = []
    for (const node of [...new Set([...Object.keys(a.nodes), ...Object.keys(b.nodes)])]) {
      const na = a.nodes[node]
      const nb = b.nodes[node]
      if (na?.key !== nb?.key) keys.push({ what: node, a: na?.key?.slice(0, 12) ?? "-", b: nb?.key?.slice(0, 12) ?? "-" })
      // Executed here or reused from the cache: the same result.
      const finished = (st: string | undefined) => (st === "cached" ? "done" : st)
      if (finished(na?.status) !== finished(nb?.status)) stages.push({ what: `${node} status`, a: na?.status ?? "-", b: nb?.status ?? "-" })
      if (na?.key !== nb?.key && na?.key !== undefined && nb?.key !== undefined) {
        const ma = yield* manifestOf(store, na.key)
        const mb = yield* manifestOf(store, nb.key)
        if (ma !== undefined && mb !== undefined) {
          config.push(...differences(leaves(ma.config), leaves(mb.config), node))
          if (ma.code !== mb.code) config.push({ what: `${node} code`, a: ma.code?.slice(0, 12) ?? "-", b: mb.code?.slice(0, 12) ?? "-" })
          for (const d of differences(leaves(ma.inputs), leaves(mb.inputs))) keys.push({ what: `${node} input ${d.what}`, a: d.a.replaceAll('"', "").slice(0, 12), b: d.b.replaceAll('"', "").slice(0, 12) })
        }
      }
    }
    const privacy = differences(leaves(a.privacy?.epsilon ?? {}), leaves(b.privacy?.epsilon ?? {}), "epsilon")
    // The pipeline's summary output, when the pipeline still declares one.
    const graph = yield* Effect.option(loadPipeline(pipelinesDir(), a.pipeline))
    const summaryRef = graph._tag === "Some" ? graph.value.summary : undefined
    let summary: Array<Difference> = []
    let hidden = false
    if (summaryRef !== undefined) {
      const read = (r: RunRecord) => {
        const n = r.nodes[summaryRef.node]
        const out = n?.outputs?.[summaryRef.output]
        return out === undefined || n?.key === undefined ? Effect.succeed({ value: undefined, label: undefined }) : Effect.map(readJson(join(store.cacheEntry(n.key), out.file)), (value) => ({ value, label: out.label }))
      }
      const sa = yield* read(a)
      const sb = yield* read(b)
      hidden = !showPrivate && (sa.label === "private" || sb.label === "private")
      const of = (v: unknown) => (v === undefined ? new Map<string, string>() : leaves(v))
      summary = differences(of(sa.value), of(sb.value), `${summaryRef.node}.${summaryRef.output}`)
      if (hidden) summary = summary.map((d) => ({ ...d, a: "(private)", b: "(private)" }))
    }
    return { a: a.runId, b: b.runId, config, keys, stages, privacy, summary, summaryHidden: hidden }
  })

export const diffCommand = Command.make(
  "diff",
  {
    runA: Argument.String("run-a"),
    runB: Argument.String("run-b"),
    showPrivate: Flag.Boolean("private").pipe(Flag.withDescription("also show the values of a private summary"), Flag.withDefault(false)),
    store: storeFlag,
    json: jsonFlag
  },
  (a) =>
    Effect.gen(function* () {
      const store = storeOf(a.store)
      const ra = yield* readRunRecord(store.runFile(a.runA), a.runA)
      const rb = yield* readRunRecord(store.runFile(a.runB), a.runB)
      const d = yield* diffRuns(store, ra, rb, a.showPrivate)
      if (a.json) return yield* print(JSON.stringify(d, null, 2))
      const section = (title: string, rows: ReadonlyArray<Difference>, none: string) =>
        rows.length === 0 ? `${title}: ${none}` : `${title}:\n${textTable(["", d.a, d.b], rows.map((r) => [r.what, r.a, r.b]))}`
      yield* print([
        `runs ${d.a} and ${d.b} (${ra.pipeline})`,
        section("config", d.config, "same"),
        section("stage keys", d.keys, "all the same (the two runs computed the same things)"),
        section("stage status", d.stages, "same"),
        section("privacy spent", d.privacy, "same"),
        section("summary", d.summary, "same") + (d.summaryHidden ? "\n(the summary is private: add --private to show its values)" : "")
      ].join("\n\n"))
    })
).pipe(Command.withDescription("Show what differs between two runs: config, stage keys, status, privacy spent and summary."))
