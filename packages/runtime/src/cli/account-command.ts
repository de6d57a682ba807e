/**
 * `pipeline account`: epsilon of a DP-SGD configuration by RDP and PLD, or the noise
 * multiplier calibrated to a target epsilon. The accountants live in the stages
 * package; the composition root (bin/pipeline.ts) passes them in as an
 * `AccountingApi`, so the runtime keeps importing nothing from stages.
 *
 * It takes what training takes (q, T, sigma, and N with a batch cap B for truncated
 * Poisson), checked by the training config's own sampler check (`AccountingApi.check`:
 * a cap below q*N is refused with training's message), or the form Opacus users know:
 * `--batch-size B --dataset-size N --epochs E`, from which q and T are derived as Opacus
 * derives them (see `opacusDerivation`) and printed.
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
  /** Training's sampler check: why these sampler parameters are refused, or undefined. */
  readonly check: (q: AccountQuery) => { readonly path: ReadonlyArray<string>; readonly issue: string } | undefined
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

/**
 * q and T from a batch size B, a dataset size N and E epochs, as Opacus derives them:
 * `make_private` sets `sample_rate = 1 / len(data_loader)`, where a PyTorch DataLoader
 * (drop_last=False) has `len = ceil(N / B)` batches (opacus/privacy_engine.py), and
 * `get_noise_multiplier` takes `steps = int(epochs / sample_rate)` (opacus/accountants/utils.py).
 * So q = 1/ceil(N/B) (= B/N when B divides N) and T = floor(E * ceil(N/B)).
 */
export const opacusDerivation = (batchSize: number, datasetSize: number, epochs: number): { readonly samplingRate: number; readonly steps: number; readonly stepsPerEpoch: number } => {
  const stepsPerEpoch = Math.ceil(datasetSize / batchSize)
  const samplingRate = 1 / stepsPerEpoch
  return { samplingRate, steps: Math.trunc(epochs / samplingRate), stepsPerEpoch }
}

/** Six significant digits, without trailing zeros (q = 1/235 reads 0.00425532). */
const short = (x: number): string => String(Number(x.toPrecision(6)))

/** The flag each field of training's sampler check corresponds to. */
const flagOf: Readonly<Record<string, string>> = { datasetSize: "--dataset-size", batchCap: "--batch-cap", samplingRate: "--sampling-rate" }

export const makeAccountCommand = (api: AccountingApi) =>
  Command.make(
    "account",
    {
      samplingRate: num("sampling-rate").pipe(Flag.withDescription("Poisson sampling rate q in (0, 1] (or give --batch-size and --dataset-size)")),
      noiseMultiplier: num("noise-multiplier").pipe(Flag.withDescription("noise multiplier sigma > 0 (or give --epsilon to calibrate it)")),
      epsilon: num("epsilon").pipe(Flag.withDescription("target epsilon: print the calibrated noise multiplier instead")),
      steps: num("steps").pipe(Flag.withDescription("number of steps T (or give --epochs)")),
      batchSize: num("batch-size").pipe(Flag.withDescription("Opacus form: (expected) batch size B; with --dataset-size N, q = 1/ceil(N/B) as Opacus derives it")),
      epochs: num("epochs").pipe(Flag.withDescription("Opacus form: epochs E; T = floor(E/q) as Opacus derives it")),
      delta: num("delta").pipe(Flag.withDescription("delta in (0, 1)")),
      datasetSize: num("dataset-size").pipe(Flag.withDescription("dataset size N (with --batch-size: derives q; with --batch-cap: truncated Poisson, PLD only)")),
      batchCap: num("batch-cap").pipe(Flag.withDescription("batch cap B of truncated Poisson sampling")),
      json: Flag.Boolean("json").pipe(Flag.withDescription("print one JSON object"), Flag.withDefault(false))
    },
    (a) =>
      Effect.gen(function* () {
        const input = yield* Effect.try({
          try: () => {
            const calibrating = Option.isSome(a.epsilon)
            if (calibrating && Option.isSome(a.noiseMultiplier)) throw new AccountInputError("give either --noise-multiplier (to get epsilon) or --epsilon (to calibrate sigma), not both")
            if (Option.isSome(a.batchSize) && Option.isSome(a.samplingRate)) throw new AccountInputError("give either --sampling-rate or --batch-size with --dataset-size (q is derived from them), not both")
            if (Option.isSome(a.epochs) && Option.isSome(a.steps)) throw new AccountInputError("give either --steps or --epochs (T is derived from them), not both")
            const datasetSize = parse("dataset-size", a.datasetSize, positiveInt, false)
            const batchSize = parse("batch-size", a.batchSize, positiveInt, false)
            if (batchSize !== undefined && datasetSize === undefined) throw new AccountInputError(`--batch-size ${batchSize} needs --dataset-size N: q = 1/ceil(N/B) as Opacus derives it`)
            const epochs = parse("epochs", a.epochs, positive, false)
            const opacus = batchSize !== undefined ? opacusDerivation(batchSize, datasetSize!, epochs ?? 1) : undefined
            const samplingRate = opacus?.samplingRate ?? parse("sampling-rate", a.samplingRate, inUnit, true)!
            const steps = epochs !== undefined ? Math.trunc(epochs / samplingRate) : parse("steps", a.steps, positiveInt, true)!
            if (epochs !== undefined && steps < 1) throw new AccountInputError(`--epochs ${epochs}: gives T = floor(E/q) = ${steps} steps at q = ${samplingRate}; at least one step is needed`)
            const q = {
              samplingRate,
              steps,
              delta: parse("delta", a.delta, openUnit, true)!,
              datasetSize,
              batchCap: parse("batch-cap", a.batchCap, positiveInt, false)
            }
            // The same sampler check (and message) as the training config's.
            const problem = api.check(q)
            if (problem !== undefined) {
              const flag = flagOf[problem.path[0] ?? ""] ?? "--batch-cap"
              const value = flag === "--batch-cap" ? q.batchCap : flag === "--dataset-size" ? q.datasetSize : q.samplingRate
              throw new AccountInputError(`${flag}${value !== undefined ? ` ${value}` : ""}: ${problem.issue.replace("set datasetSize", "give --dataset-size N")} (training refuses the same)`)
            }
            const derived = epochs !== undefined || opacus !== undefined
              ? { derived: { samplingRate, steps, ...(opacus !== undefined ? { batchSize, stepsPerEpoch: opacus.stepsPerEpoch, expectedBatchSize: samplingRate * datasetSize! } : {}), ...(epochs !== undefined ? { epochs } : {}) } }
              : {}
            return calibrating
              ? { ...q, ...derived, kind: "calibrate" as const, epsilon: parse("epsilon", a.epsilon, positive, true)! }
              : { ...q, ...derived, kind: "epsilon" as const, noiseMultiplier: parse("noise-multiplier", a.noiseMultiplier, positive, true)! }
          },
          catch: (e) => (e instanceof AccountInputError ? e : new AccountInputError(String(e)))
        })
        const derivedLine = "derived" in input
          ? [
              input.derived.batchSize !== undefined
                ? `derived as Opacus does: q = 1/ceil(N/B) = 1/ceil(${input.datasetSize}/${input.derived.batchSize}) = ${short(input.samplingRate)} (expected batch q*N = ${short(input.derived.expectedBatchSize!)}), ` +
                  `T = floor(E/q) = floor(${input.derived.epochs ?? 1} * ${input.derived.stepsPerEpoch}) = ${input.steps}`
                : `derived as Opacus does: T = floor(E/q) = floor(${input.derived.epochs} / ${short(input.samplingRate)}) = ${input.steps}`
            ]
          : []
        const derivedJson = "derived" in input ? { derived: input.derived } : {}
        if (input.kind === "epsilon") {
          const r = api.epsilon(input)
          const out = { ...derivedJson, ...(r.rdp !== undefined ? { rdp: r.rdp } : {}), ...(r.pld !== undefined ? { pld: r.pld } : {}) }
          if (a.json) return yield* print(JSON.stringify(out))
          yield* print(
            [
              ...derivedLine,
              `q=${input.samplingRate} sigma=${input.noiseMultiplier} T=${input.steps} delta=${input.delta}${input.batchCap !== undefined ? ` N=${input.datasetSize} B=${input.batchCap} (truncated Poisson)` : ""}`,
              r.rdp !== undefined ? `  RDP: epsilon ${r.rdp.epsilon.toFixed(6)} (order ${r.rdp.order})` : "  RDP: not applicable",
              r.pld !== undefined ? `  PLD: epsilon ${r.pld.epsilon.toFixed(6)}` : "  PLD: failed",
              ...r.errors.map((e) => `  note: ${e}`)
            ].join("\n")
          )
        } else {
          const r = api.calibrate(input)
          const out = { ...derivedJson, ...(r.rdp !== undefined ? { rdp: r.rdp } : {}), ...(r.pld !== undefined ? { pld: r.pld } : {}) }
          if (a.json) return yield* print(JSON.stringify(out))
          yield* print(
            [
              ...derivedLine,
              `noise multiplier for epsilon ${input.epsilon} at delta ${input.delta}, q=${input.samplingRate}, T=${input.steps}:`,
              r.rdp !== undefined ? `  RDP: sigma ${r.rdp.noiseMultiplier.toFixed(6)}` : "  RDP: not applicable",
              r.pld !== undefined ? `  PLD: sigma ${r.pld.noiseMultiplier.toFixed(6)}` : "  PLD: failed",
              ...r.errors.map((e) => `  note: ${e}`)
            ].join("\n")
          )
        }
      })
  ).pipe(Command.withDescription("Epsilon of DP-SGD by RDP and PLD for q, sigma, T, delta (or Opacus' --batch-size B --dataset-size N --epochs E); or with --epsilon, the calibrated noise multiplier."))
