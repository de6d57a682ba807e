/**
 * `pipeline advise`: which model, expected batch, steps and noise multiplier give the lowest
 * loss predicted by a fitted DP scaling law, for a compute budget, a privacy budget and a
 * dataset size (McKenna et al. 2025). The law and the planner live in @dpipe/scaling; the
 * composition root (bin/pipeline.ts) passes them in as an `AdviseApi`, so the runtime keeps
 * importing nothing but the DSL. This module finds the law (a file, or the `law` output of a
 * dp-scaling run's fit stage in the store) and prints the answer.
 *
 * Every flag is validated here, so that bad input gets one line naming the flag.
 */
import { Effect, Option } from "effect"
import { Command, Flag } from "effect/cli"
import { existsSync, statSync } from "node:fs"
import { readFile } from "node:fs/promises"
import { join } from "node:path"
import { readRunRecord } from "../run-state.ts"
import { jsonFlag, print, storeFlag, storeOf, textTable } from "./common.ts"

export interface AdviseRequest {
  readonly computeFlops: number
  readonly epsilon: number
  readonly delta: number
  readonly datasetSize: number
  readonly batchCap?: number
  readonly accountant?: "rdp" | "pld"
}

/** One configuration as the planner reports it (more fields pass through to --json). */
export interface AdvicePlan {
  readonly model: string
  readonly params: number
  readonly expectedBatchSize: number
  readonly steps: number
  readonly noiseMultiplier: number
  readonly noiseBatchRatio: number
  readonly predictedLoss: number
  readonly computeFlops: number
  readonly epsilon: number
  readonly accountant: string
}

export interface Advice {
  readonly best: AdvicePlan
  readonly nearOptimal: ReadonlyArray<AdvicePlan>
  readonly smallestNearOptimal: { readonly params: number; readonly expectedBatchSize: number; readonly steps: number }
  readonly nonPrivate?: { readonly model: string; readonly params: number; readonly expectedBatchSize: number; readonly steps: number; readonly predictedLoss: number }
  readonly models: ReadonlyArray<string>
  readonly search: { readonly candidates: number; readonly inGrid: number; readonly refined: number; readonly gridMs: number; readonly refineMs: number }
}

export interface AdviseApi {
  readonly advise: (lawText: string, lawPath: string, request: AdviseRequest) => { readonly ok: true; readonly advice: Advice } | { readonly ok: false; readonly message: string }
}

export class AdviseInputError extends Error {
  readonly _tag = "AdviseInputError"
}

/** Where `--law` points: an existing file, else the `law` output of a run's fit stage. */
export const resolveLawPath = (law: string, store: Option.Option<string>) =>
  Effect.gen(function* () {
    if (existsSync(law) && statSync(law).isFile()) return law
    const layout = storeOf(store)
    if (!existsSync(layout.runFile(law)))
      return yield* Effect.fail(
        new AdviseInputError(
          `--law ${law}: no such file, and no run "${law}" in the store ${layout.root}; pass a law file (e.g. pipelines/scaling-laws/mail-tiny.json) or the id of a dp-scaling run (see \`pnpm pipeline runs\`)`
        )
      )
    const record = yield* readRunRecord(layout.runFile(law), law)
    const withLaw = Object.entries(record.nodes).filter(([, n]) => n.outputs !== undefined && "law" in n.outputs)
    const fit = record.nodes["fit"] !== undefined ? ([["fit", record.nodes["fit"]]] as const) : withLaw
    const entry = fit[0]
    if (entry === undefined || fit.length > 1)
      return yield* Effect.fail(
        new AdviseInputError(`run ${law} has no ${fit.length > 1 ? "single " : ""}fit stage with a "law" output (its stages: ${Object.keys(record.nodes).join(", ")}); is it a dp-scaling run?`)
      )
    const [id, node] = entry
    const out = node.outputs?.["law"]
    if (out === undefined || node.key === undefined)
      return yield* Effect.fail(new AdviseInputError(`stage ${id} of run ${law} has no law yet (status ${node.status}); finish the run with \`pnpm pipeline resume ${law}\``))
    return join(layout.cacheEntry(node.key), out.file)
  })

const num = (name: string) => Flag.String(name).pipe(Flag.optional)

const parse = (flag: string, raw: Option.Option<string>, check: (x: number) => string | undefined, required: boolean): number | undefined => {
  if (Option.isNone(raw)) {
    if (required) throw new AdviseInputError(`--${flag} is required (${check(Number.NaN) ?? "a number"})`)
    return undefined
  }
  const x = Number(raw.value)
  const problem = raw.value.trim() === "" || Number.isNaN(x) ? "must be a number" : check(x)
  if (problem !== undefined) throw new AdviseInputError(`--${flag} ${raw.value}: ${problem}`)
  return x
}

const positive = (x: number) => (x > 0 && Number.isFinite(x) ? undefined : "must be > 0")
const openUnit = (x: number) => (x > 0 && x < 1 ? undefined : "must be in (0, 1)")
const positiveInt = (x: number) => (Number.isInteger(x) && x > 0 ? undefined : "must be a positive integer")

const sci = (x: number) => (x === 0 ? "0" : Math.abs(x) >= 1e5 || Math.abs(x) < 1e-2 ? x.toExponential(3) : String(Number(x.toPrecision(5))))

export const makeAdviseCommand = (api: AdviseApi) =>
  Command.make(
    "advise",
    {
      law: Flag.String("law").pipe(Flag.withDescription("a law JSON file, or the id of a dp-scaling run (its fit stage's law)"), Flag.optional),
      computeFlops: num("compute-flops").pipe(Flag.withDescription("compute budget C in FLOPs (C = 6 M B S T)")),
      epsilon: num("epsilon").pipe(Flag.withDescription("privacy budget epsilon")),
      delta: num("delta").pipe(Flag.withDescription("delta in (0, 1)")),
      datasetSize: num("dataset-size").pipe(Flag.withDescription("N, the number of privacy units (q = B / N)")),
      batchCap: num("batch-cap").pipe(Flag.withDescription("batch cap of truncated Poisson sampling (PLD accounting; B stays under it)")),
      accountant: Flag.Literals("accountant", ["pld", "rdp"]).pipe(
        Flag.withDescription("accountant of the reported sigmas: pld (default: RDP over the grid, then PLD for the near-optimal set) or rdp"),
        Flag.optional
      ),
      store: storeFlag,
      json: jsonFlag
    },
    (a) =>
      Effect.gen(function* () {
        const request = yield* Effect.try({
          try: (): AdviseRequest => {
            const batchCap = parse("batch-cap", a.batchCap, positiveInt, false)
            const accountant = Option.getOrUndefined(a.accountant)
            return {
              computeFlops: parse("compute-flops", a.computeFlops, positive, true)!,
              epsilon: parse("epsilon", a.epsilon, positive, true)!,
              delta: parse("delta", a.delta, openUnit, true)!,
              datasetSize: parse("dataset-size", a.datasetSize, positiveInt, true)!,
              ...(batchCap !== undefined ? { batchCap } : {}),
              ...(accountant !== undefined ? { accountant } : {})
            }
          },
          catch: (e) => (e instanceof AdviseInputError ? e : new AdviseInputError(String(e)))
        })
        if (Option.isNone(a.law)) return yield* Effect.fail(new AdviseInputError("--law is required (a law JSON file, or the id of a dp-scaling run)"))
        const path = yield* resolveLawPath(a.law.value, a.store)
        const text = yield* Effect.tryPromise({
          try: () => readFile(path, "utf8"),
          catch: (e) => new AdviseInputError(`cannot read the law ${path}: ${e instanceof Error ? e.message : String(e)}`)
        })
        const r = api.advise(text, path, request)
        if (!r.ok) return yield* Effect.fail(new AdviseInputError(r.message))
        const { advice } = r
        if (a.json) return yield* print(JSON.stringify({ ...advice.best, nearOptimal: advice.nearOptimal, smallestNearOptimal: advice.smallestNearOptimal, nonPrivate: advice.nonPrivate ?? null, law: path, search: advice.search }))
        const b = advice.best
        const row = (p: AdvicePlan) => [p.model, sci(p.params), String(p.expectedBatchSize), String(p.steps), p.noiseMultiplier.toFixed(4), sci(p.noiseBatchRatio), p.predictedLoss.toFixed(4), p.accountant]
        const np = advice.nonPrivate
        yield* print(
          [
            `Plan for ${sci(request.computeFlops)} FLOPs, epsilon ${request.epsilon} at delta ${request.delta}, ${request.datasetSize} privacy units${request.batchCap !== undefined ? `, batch cap ${request.batchCap} (truncated Poisson)` : ""}`,
            `law: ${path} (models ${advice.models.join(", ")})`,
            "",
            `best: model ${b.model} (${sci(b.params)} params), expected batch ${b.expectedBatchSize}, ${b.steps} steps, noise multiplier ${b.noiseMultiplier.toFixed(4)} (${b.accountant.toUpperCase()}, epsilon ${b.epsilon.toFixed(4)}), noise-batch ratio ${sci(b.noiseBatchRatio)}`,
            `predicted loss: ${b.predictedLoss.toFixed(4)}  (compute used ${sci(b.computeFlops)} FLOPs)`,
            "",
            `near-optimal (predicted loss within 1% of the best): ${advice.nearOptimal.length}`,
            textTable(["model", "params", "batch", "steps", "sigma", "sigma/B", "loss", "accountant"], advice.nearOptimal.map(row)),
            `smallest within 1%: ${sci(advice.smallestNearOptimal.params)} params, batch ${advice.smallestNearOptimal.expectedBatchSize}, ${advice.smallestNearOptimal.steps} steps`,
            np !== undefined
              ? `non-private at the same compute: model ${np.model} (${sci(np.params)} params), batch ${np.expectedBatchSize}, ${np.steps} steps, predicted loss ${np.predictedLoss.toFixed(4)}`
              : "non-private at the same compute: the law has no non-private runs",
            `search: ${advice.search.candidates} candidates, ${advice.search.inGrid} inside the law, RDP grid ${(advice.search.gridMs / 1000).toFixed(1)} s, ${advice.search.refined} refined by PLD in ${(advice.search.refineMs / 1000).toFixed(1)} s`
          ].join("\n")
        )
      })
  ).pipe(Command.withDescription("The training configuration (model, batch, steps, sigma) with the lowest loss predicted by a fitted DP scaling law for a compute and privacy budget."))
