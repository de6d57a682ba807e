/**
 * `pipeline account`: epsilon of a DP-SGD configuration by RDP and PLD, or the noise
 * multiplier calibrated to a target epsilon. The accountants live in the stages
 * package; the composition root (bin/pipeline.ts) passes them in as an
 * `AccountingApi`, so the runtime keeps importing nothing from stages.
 *
 * Every flag is validated here, so that bad input gets one line naming the flag.
 */
import { Effect, Option } from "effect"
import { Command, Flag } from "effect/cli"
import { print } from "./common.ts"

export interface AccountQuery {
  readonly samplingRate: number
  readonly steps: number
  readonly delta: number
  readonly datasetSize?: number | undefined
  readonly batchCap?: number | undefined
}

/** Results per accountant; an accountant that does not apply is absent. */
export interface AccountingApi {
  readonly epsilon: (q: AccountQuery & { readonly noiseMultiplier: number }) => {
    readonly rdp?: { readonly epsilon: number; readonly order: number }
    readonly pld?: { readonly epsilon: number }
    readonly errors: ReadonlyArray<string>
  }
  readonly calibrate: (q: AccountQuery & { readonly epsilon: number }) => {
    readonly rdp?: { readonly noiseMultiplier: number }
    readonly pld?: { readonly noiseMultiplier: number }
    readonly errors: ReadonlyArray<string>
  }
}

export class AccountInputError extends Error {
  readonly _tag = "AccountInputError"
}

const num = (name: string) => Flag.String(name).pipe(Flag.optional)

const parse = (flag: string, raw: Option.Option<string>, check: (x: number) => string | undefined, required: boolean): number | undefined => {
  if (Option.isNone(raw)) {
    if (required) throw new AccountInputError(`--${flag} is required (${check(Number.NaN) ?? "a number"})`)
    return undefined
  }
  const x = Number(raw.value)
  const problem = raw.value.trim() === "" || Number.isNaN(x) ? "must be a number" : check(x)
  if (problem !== undefined) throw new AccountInputError(`--${flag} ${raw.value}: ${problem}`)
  return x
}

const inUnit = (x: number) => (x > 0 && x <= 1 ? undefined : "must be in (0, 1]")
const openUnit = (x: number) => (x > 0 && x < 1 ? undefined : "must be in (0, 1)")
const positive = (x: number) => (x > 0 && Number.isFinite(x) ? undefined : "must be > 0")
const positiveInt = (x: number) => (Number.isInteger(x) && x > 0 ? undefined : "must be a positive integer")

export const makeAccountCommand = (api: AccountingApi) =>
  Command.make(
    "account",
    {
      samplingRate: num("sampling-rate").pipe(Flag.withDescription("Poisson sampling rate q in (0, 1]")),
      noiseMultiplier: num("noise-multiplier").pipe(Flag.withDescription("noise multiplier sigma > 0 (or give --epsilon to calibrate it)")),
      epsilon: num("epsilon").pipe(Flag.withDescription("target epsilon: print the calibrated noise multiplier instead")),
      steps: num("steps").pipe(Flag.withDescription("number of steps T")),
      delta: num("delta").pipe(Flag.withDescription("delta in (0, 1)")),
      datasetSize: num("dataset-size").pipe(Flag.withDescription("dataset size N (with --batch-cap: truncated Poisson, PLD only)")),
      batchCap: num("batch-cap").pipe(Flag.withDescription("batch cap B of truncated Poisson sampling")),
      json: Flag.Boolean("json").pipe(Flag.withDescription("print one JSON object"), Flag.withDefault(false))
    },
    (a) =>
      Effect.gen(function* () {
        const input = yield* Effect.try({
          try: () => {
            const calibrating = Option.isSome(a.epsilon)
            if (calibrating && Option.isSome(a.noiseMultiplier)) throw new AccountInputError("give either --noise-multiplier (to get epsilon) or --epsilon (to calibrate sigma), not both")
            const q = {
              samplingRate: parse("sampling-rate", a.samplingRate, inUnit, true)!,
              steps: parse("steps", a.steps, positiveInt, true)!,
              delta: parse("delta", a.delta, openUnit, true)!,
              datasetSize: parse("dataset-size", a.datasetSize, positiveInt, false),
              batchCap: parse("batch-cap", a.batchCap, positiveInt, false)
            }
            if ((q.datasetSize === undefined) !== (q.batchCap === undefined)) throw new AccountInputError("--dataset-size and --batch-cap go together (truncated Poisson sampling)")
            return calibrating
              ? { ...q, kind: "calibrate" as const, epsilon: parse("epsilon", a.epsilon, positive, true)! }
              : { ...q, kind: "epsilon" as const, noiseMultiplier: parse("noise-multiplier", a.noiseMultiplier, positive, true)! }
          },
          catch: (e) => (e instanceof AccountInputError ? e : new AccountInputError(String(e)))
        })
        if (input.kind === "epsilon") {
          const r = api.epsilon(input)
          const out = { ...(r.rdp !== undefined ? { rdp: r.rdp } : {}), ...(r.pld !== undefined ? { pld: r.pld } : {}) }
          if (a.json) return yield* print(JSON.stringify(out))
          yield* print(
            [
              `q=${input.samplingRate} sigma=${input.noiseMultiplier} T=${input.steps} delta=${input.delta}${input.batchCap !== undefined ? ` N=${input.datasetSize} B=${input.batchCap} (truncated Poisson)` : ""}`,
              r.rdp !== undefined ? `  RDP: epsilon ${r.rdp.epsilon.toFixed(6)} (order ${r.rdp.order})` : "  RDP: not applicable",
              r.pld !== undefined ? `  PLD: epsilon ${r.pld.epsilon.toFixed(6)}` : "  PLD: failed",
              ...r.errors.map((e) => `  note: ${e}`)
            ].join("\n")
          )
        } else {
          const r = api.calibrate(input)
          const out = { ...(r.rdp !== undefined ? { rdp: r.rdp } : {}), ...(r.pld !== undefined ? { pld: r.pld } : {}) }
          if (a.json) return yield* print(JSON.stringify(out))
          yield* print(
            [
              `noise multiplier for epsilon ${input.epsilon} at delta ${input.delta}, q=${input.samplingRate}, T=${input.steps}:`,
              r.rdp !== undefined ? `  RDP: sigma ${r.rdp.noiseMultiplier.toFixed(6)}` : "  RDP: not applicable",
              r.pld !== undefined ? `  PLD: sigma ${r.pld.noiseMultiplier.toFixed(6)}` : "  PLD: failed",
              ...r.errors.map((e) => `  note: ${e}`)
            ].join("\n")
          )
        }
      })
  ).pipe(Command.withDescription("Epsilon of DP-SGD by RDP and PLD for q, sigma, T, delta; or with --epsilon, the calibrated noise multiplier."))
