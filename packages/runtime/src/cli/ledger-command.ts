/**
 * `pipeline ledger <run>`: a run's privacy ledger (runs/<id>/ledger.parquet, read in
 * process: no pyarrow needed): every recorded DP event with its stage, steps and whether
 * it was a reused (cached) release, and the epsilon of the run's events composed by each
 * accountant of the composition root (the first decides, as in the run's statement),
 * in total and per stage, at the run's delta.
 */
import { Effect } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import type { Accountant, LedgerEntry } from "@dpipe/dsl"
import { composeEpsilon } from "../dataset-budget.ts"
import { StoreError, messageOf } from "../errors.ts"
import { formatDelta } from "../privacy.ts"
import { readRunRecord } from "../run-state.ts"
import { readLedger } from "../store/ledger-file.ts"
import { jsonFlag, optionValue, print, storeFlag, storeOf, textTable } from "./common.ts"

type Accountants = readonly [Accountant, ...Array<Accountant>]

const short = (tag: string): string => tag.replace(/Event$/, "")
const num = (x: unknown): string => (typeof x === "number" ? String(Number(x.toPrecision(4))) : String(x))

/** A DP event in one line: `PoissonSampledGaussian(q=0.01, sigma=1, add_remove) x 100`. */
export const describeEvent = (event: unknown): string => {
  if (event === null || typeof event !== "object") return String(event)
  const e = event as Record<string, unknown>
  const tag = typeof e["_tag"] === "string" ? e["_tag"] : "Event"
  if (tag === "SelfComposedEvent") return `${describeEvent(e["event"])} x ${num(e["count"])}`
  if (tag === "ComposedEvent" && Array.isArray(e["events"])) return `(${(e["events"] as Array<unknown>).map(describeEvent).join(") + (")})`
  const names: Record<string, string> = { samplingRate: "q", noiseMultiplier: "sigma", datasetSize: "N", batchCap: "cap" }
  const fields = Object.entries(e)
    .filter(([k]) => k !== "_tag")
    .map(([k, v]) => (k === "neighbouring" ? String(v) : `${names[k] ?? k}=${num(v)}`))
  return `${short(tag)}(${fields.join(", ")})`
}

export const makeLedgerCommand = (accountants: Accountants) =>
  Command.make(
    "ledger",
    {
      runId: Argument.String("run-id").pipe(Argument.withDescription("the run (see `pipeline runs`)")),
      delta: Flag.Finite("delta").pipe(Flag.withDescription("delta to report epsilon at (default: the run's)"), Flag.optional),
      store: storeFlag,
      json: jsonFlag
    },
    (a) =>
      Effect.gen(function* () {
        const store = storeOf(a.store)
        const record = yield* readRunRecord(store.runFile(a.runId), a.runId)
        const path = store.ledgerFile(a.runId)
        const entries: Array<LedgerEntry> = yield* Effect.tryPromise({ try: () => readLedger(path), catch: (e) => new StoreError({ path, message: `cannot read the privacy ledger ${path}: ${messageOf(e)}` }) })
        const delta = optionValue(a.delta) ?? record.privacy?.delta ?? record.budget?.delta
        if (delta === undefined && entries.length > 0) {
          return yield* new StoreError({ path, message: `Run ${a.runId} records no delta (its pipeline declares no privacy budget): pass one with --delta, e.g. --delta 1e-6.` })
        }
        const total = delta === undefined ? { epsilon: {} as Record<string, number> } : yield* composeEpsilon(accountants, entries.map((e) => e.event), delta)
        const perNode: Array<{ node: string; steps: number; epsilon: Record<string, number> }> = []
        for (const node of [...new Set(entries.map((e) => e.node))]) {
          const mine = entries.filter((e) => e.node === node)
          const eps = yield* composeEpsilon(accountants, mine.map((e) => e.event), delta!)
          perNode.push({ node, steps: mine.reduce((s, e) => s + e.steps, 0), epsilon: eps.epsilon })
        }
        if (a.json) {
          return yield* print(JSON.stringify({ runId: a.runId, delta, accountant: accountants[0].name, epsilon: total.epsilon, nodes: perNode, entries }, null, 2))
        }
        if (entries.length === 0) return yield* print(`run ${a.runId}: no privacy spent (its ledger has no entries: no DP stage ran or was reused)`)
        const eps = (r: Readonly<Record<string, number>>) => Object.entries(r).map(([k, v]) => `${v.toFixed(4)} (${k})`).join(", ")
        const rows = entries.map((e) => [e.node, String(e.steps), e.reused ? "reused" : "spent", describeEvent(e.event), e.stageKey.slice(0, 12), e.recordedAt])
        yield* print(
          `privacy ledger of run ${a.runId} (${path})\n` +
            `${textTable(["stage", "steps", "release", "event", "key", "recorded"], rows)}\n` +
            perNode.map((n) => `${n.node}: ${n.steps} steps, epsilon ${eps(n.epsilon)}`).join("\n") +
            `\nrun total: epsilon ${eps(total.epsilon)} at delta ${formatDelta(delta!)} (by ${accountants.map((x) => x.name).join(", ")}; ${accountants[0].name} decides)` +
            (record.budget !== undefined ? `; budget epsilon ${record.budget.epsilon}` : "") +
            (entries.some((e) => e.reused) ? "\n(reused: a cached release this run counts once in its statement; it spent no new privacy)" : "")
        )
      })
  ).pipe(Command.withDescription("Show a run's privacy ledger: DP events, steps, and epsilon by each accountant."))
