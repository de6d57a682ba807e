/**
 * Typed scale presets: `settingsFor({ corpus, tokenizer })` returns a function that takes
 * the settings of those nodes as nested objects typed by each stage's config and perf
 * flags, and flattens them into the dotted keys (`tokenizer.vocabSize`) scale presets and
 * `--set` use. A key that is not a field of the stage (`corpus.texColumn`) or a value of
 * the wrong type fails `pnpm typecheck`; `plan` checks the same keys again at run time.
 *
 *   const dataSettings = settingsFor({ corpus, tokenizer, pack })
 *   scales: { micro: dataSettings({ tokenizer: { vocabSize: 512 }, pack: { canaries: { count: 3 } } }) }
 */
import type { DeepPartial, Settings } from "./pipeline.ts"
import type { Stage } from "./stage.ts"

/** The settings one node of `stage` accepts (config and perf flags, every field optional). */
export type StageSettings<S> = S extends Stage<infer C, infer P, infer _I, infer _O> ? DeepPartial<C> & DeepPartial<P> : never

/** Settings by node id, for the nodes of `N` (node id -> stage). */
export type NodeSettings<N> = { readonly [K in keyof N]?: StageSettings<N[K]> }

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v) && !ArrayBuffer.isView(v) && Object.getPrototypeOf(v) === Object.prototype

/** `{ a: { b: 1, c: [2] } }` -> `{ "a.b": 1, "a.c": [2] }` (arrays and typed arrays are leaves). */
export const flattenSettings = (nested: Readonly<Record<string, unknown>>, prefix = ""): Record<string, unknown> => {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(nested)) {
    if (v === undefined) continue
    const key = prefix === "" ? k : `${prefix}.${k}`
    if (isPlainObject(v)) Object.assign(out, flattenSettings(v, key))
    else out[key] = v
  }
  return out
}

/** A typed preset writer for the nodes `nodes` (node id -> the stage it runs). */
export const settingsFor = <const N extends Readonly<Record<string, object>>>(_nodes: N) =>
  (settings: NodeSettings<N>): Settings => flattenSettings(settings as Readonly<Record<string, unknown>>)
