/**
 * Privacy per private dataset, across runs (docs/privacy.md, D1-D3). A run's ledger
 * says what one run spent; privacy is a property of the data, so the store's privacy
 * ledger (store/privacy-ledger-file.ts) records every run's spend against each private
 * dataset it touched, and a dataset's epsilon is the composition of all of it.
 *
 * - Which datasets: the plan's provenance (dsl `datasetOrigin`, `spendsOn`): a source
 *   stage declares its dataset; labels carry it to the mechanisms. The runtime turns each
 *   origin into a source hash: sha256 of the stage name, the declared identity and the
 *   contents of the stage's `sources` (its files), so the same corpus read by any run
 *   is one dataset whatever its path or the stage's code version.
 * - Composition: the pipeline's accountants (the first, PLD, decides; the others, RDP,
 *   are reported), over every event recorded against the dataset, at the dataset's
 *   budget delta (else the pipeline's).
 * - Forecast: before a run writes anything, the store's events on each dataset plus the
 *   events its mechanisms predict (a mechanism whose output is cached spends nothing; a
 *   mechanism about to run replaces the entries of its own stage key, which a resume or
 *   a recomputation re-records with the same noise) against the dataset's budget.
 * - Reservation: `run` makes that check and records its predicted spend as reserved in
 *   one step under the ledger's lock, and removes the reservation when the run ends, so
 *   runs started at once see each other's predicted spend.
 */
import { Effect } from "effect"
import { createHash } from "node:crypto"
import type { Accountant, LedgerEntry, Plan } from "@dpipe/dsl"
import { canonicalJson, Pipeline, PlanError } from "@dpipe/dsl"
import { planKeys } from "./plan-status.ts"
import { formatDelta } from "./privacy.ts"
import { sourceHashes } from "./sources.ts"
import { StoreError, messageOf } from "./errors.ts"
import type { StoreLayout } from "./store/layout.ts"
import { type DatasetBudget, type StoreLedger, type StoreLedgerEntry, decideStoreLedger, readStoreLedger, updateStoreLedger, upsertStoreEntries } from "./store/privacy-ledger-file.ts"

/** A private dataset a plan reads, with its source hash. */
export interface PlanDataset {
  /** The plan node where it enters. */
  readonly origin: string
  readonly hash: string
  readonly name: string
  readonly stage: string
}

type Accountants = readonly [Accountant, ...Array<Accountant>]

/** The source hash of every dataset origin of a plan (node id -> dataset). */
export const planDatasets = (plan: Plan.Plan) =>
  Effect.gen(function* () {
    const out = new Map<string, PlanDataset>()
    for (const n of plan.nodes) {
      if (n.datasetOrigin === undefined) continue
      const files = yield* Effect.tryPromise({
        try: () => sourceHashes(n.sources),
        catch: (e) => new StoreError({ path: n.sources.join(", "), message: `hashing the sources of dataset ${n.datasetOrigin?.name}: ${messageOf(e)}` })
      })
      const hash = createHash("sha256")
        .update(canonicalJson({ v: 1, stage: n.stage.name, identity: n.datasetOrigin.identity, sources: Object.values(files).sort() }))
        .digest("hex")
      out.set(n.id, { origin: n.id, hash, name: n.datasetOrigin.name, stage: n.stage.name })
    }
    return out
  })

/** The budget a dataset has: declared by source hash, or by name. */
export const budgetOf = (ledger: StoreLedger, dataset: { readonly hash: string; readonly name: string }): DatasetBudget | undefined =>
  ledger.budgets[dataset.hash] ?? ledger.budgets[dataset.name]

/** Epsilon of `events` by every accountant (a secondary one that does not apply is left out). */
export const composeEpsilon = (accountants: Accountants, events: ReadonlyArray<unknown>, delta: number) =>
  Effect.gen(function* () {
    const epsilon: Record<string, number> = {}
    const [primary, ...others] = accountants
    epsilon[primary.name] = events.length === 0 ? 0 : yield* primary.epsilon(events, delta)
    for (const a of others) {
      const r = events.length === 0 ? 0 : yield* a.epsilon(events, delta).pipe(Effect.orElseSucceed(() => undefined))
      if (r !== undefined) epsilon[a.name] = r
    }
    return { epsilon, primary: epsilon[primary.name]! }
  })

const overBudget = (epsilon: number, budget: DatasetBudget | undefined): boolean => budget !== undefined && epsilon > budget.epsilon * (1 + 1e-9)

/** One dataset's figures for a planned run. */
export interface DatasetForecast {
  readonly dataset: PlanDataset
  readonly accountant: string
  readonly delta: number
  /** Epsilon of everything recorded against it so far. */
  readonly spent: number
  /** Epsilon of this run's predicted events alone. */
  readonly predicted: number
  /** Epsilon of the recorded events and the predicted ones, composed. */
  readonly total: number
  readonly budget: DatasetBudget | undefined
  /** Runs in progress whose reserved (predicted) spend is counted in `total`. */
  readonly reservedBy: ReadonlyArray<string>
}

type PlanKeys = ReadonlyMap<string, { readonly key: string | undefined; readonly status: string }>

/** The mechanism nodes of a plan that spend on some private dataset. */
const spendingMechanisms = (plan: Plan.Plan) => plan.nodes.filter((n) => n.isMechanism && n.spendsOn.length > 0)

/** What a planned run would bring each private dataset it touches to. */
export const forecastDatasets = (plan: Plan.Plan, store: StoreLayout, runId?: string) =>
  Effect.gen(function* () {
    if (plan.pipeline.privacy === undefined || spendingMechanisms(plan).length === 0) return [] as Array<DatasetForecast>
    const datasets = yield* planDatasets(plan)
    const ledger = yield* readStoreLedger(store)
    const keys = yield* planKeys(plan, store)
    return yield* forecastFrom(plan, ledger, datasets, keys, runId)
  })

const forecastFrom = (plan: Plan.Plan, ledger: StoreLedger, datasets: ReadonlyMap<string, PlanDataset>, keys: PlanKeys, runId: string | undefined) =>
  Effect.gen(function* () {
    const policy = plan.pipeline.privacy
    const mechanisms = spendingMechanisms(plan)
    if (policy === undefined || mechanisms.length === 0) return [] as Array<DatasetForecast>
    const forecasts: Array<DatasetForecast> = []
    for (const ds of datasets.values()) {
      const spenders = mechanisms.filter((n) => n.spendsOn.includes(ds.origin))
      if (spenders.length === 0) continue
      const running = spenders.filter((n) => keys.get(n.id)?.status !== "cached")
      const superseded = new Set(running.map((n) => keys.get(n.id)?.key).filter((k): k is string => k !== undefined))
      const recorded = ledger.entries.filter((e) => e.dataset === ds.hash)
      const spentEntries = recorded.filter((e) => e.reserved !== true)
      // This run's own reservation (a resume) is replaced; other runs' reservations count.
      const kept = recorded.filter((e) => (e.reserved === true ? e.runId !== runId : !superseded.has(e.stageKey)))
      const reservedBy = [...new Set(recorded.filter((e) => e.reserved === true && e.runId !== runId).map((e) => e.runId))]
      const predictedEvents = running.flatMap((n) => n.predictedEvents)
      const budget = budgetOf(ledger, ds)
      const delta = budget?.delta ?? Pipeline.budgetAt(policy, plan.scale).delta
      const eps = (events: ReadonlyArray<unknown>) =>
        composeEpsilon(policy.accountants, events, delta).pipe(
          Effect.map((r) => r.primary),
          Effect.mapError((e) => new PlanError({ reason: "budget", message: `accounting dataset ${ds.name}: ${e.message}` }))
        )
      // PLD over 1e5 steps takes seconds: compose each distinct list once.
      const predicted = yield* eps(predictedEvents)
      forecasts.push({
        dataset: ds,
        accountant: policy.accountants[0].name,
        delta,
        spent: yield* eps(spentEntries.map((e) => e.event)),
        predicted,
        total: kept.length === 0 ? predicted : yield* eps([...kept.map((e) => e.event), ...predictedEvents]),
        budget,
        reservedBy
      })
    }
    return forecasts
  })

/** The line `plan` and the refusal print for a dataset. */
export const describeForecast = (f: DatasetForecast): string =>
  `dataset ${f.dataset.name} (${f.dataset.hash.slice(0, 12)}): spent epsilon ${f.spent.toFixed(4)}, this run ${f.predicted.toFixed(4)}, ` +
  `together ${f.total.toFixed(4)} at delta ${formatDelta(f.delta)} (by ${f.accountant})` +
  (f.budget !== undefined ? `; allowed ${f.budget.epsilon}` : "; no budget declared")

/**
 * Fails with a PlanError when the run would push a dataset past its budget: the spent,
 * predicted and allowed epsilon, and what to do.
 */
export const checkDatasetBudgets = (plan: Plan.Plan, store: StoreLayout) =>
  Effect.gen(function* () {
    const forecasts = yield* forecastDatasets(plan, store)
    const refusal = refusalOf(plan, forecasts)
    if (refusal !== undefined) return yield* refusal
    return forecasts
  })

/**
 * `run`'s check: the same forecast, made under the store ledger's lock against what is
 * recorded and reserved at that moment; when it passes, this run's predicted spend is
 * reserved in the same step (docs/privacy.md, D2). Nothing is written when it fails.
 */
export const reserveDatasetSpend = (plan: Plan.Plan, store: StoreLayout, runId: string) =>
  Effect.gen(function* () {
    const mechanisms = spendingMechanisms(plan)
    const delta = planDelta(plan)
    if (delta === undefined || mechanisms.length === 0) return [] as Array<DatasetForecast>
    const datasets = yield* planDatasets(plan)
    const keys = yield* planKeys(plan, store)
    type Decision = { readonly refusal: PlanError | undefined; readonly forecasts: ReadonlyArray<DatasetForecast> }
    const decided = yield* decideStoreLedger<Decision>(store, (ledger) =>
      forecastFrom(plan, ledger, datasets, keys, runId).pipe(
        Effect.map((forecasts) => {
          const refusal = refusalOf(plan, forecasts)
          if (refusal !== undefined) return { next: undefined, result: { refusal, forecasts } }
          const now = new Date().toISOString()
          const reservations: Array<StoreLedgerEntry> = mechanisms
            .filter((n) => keys.get(n.id)?.status !== "cached")
            .flatMap((n) =>
              n.spendsOn.flatMap((o) => datasets.get(o) ?? []).flatMap((ds) =>
                n.predictedEvents.map((event, i) => ({
                  dataset: ds.hash, runId, node: n.id, stageKey: keys.get(n.id)?.key ?? "", id: `reserved:${i}`, event, steps: 0, delta, recordedAt: now, reserved: true
                }))
              )
            )
          const others = ledger.entries.filter((e) => !(e.reserved === true && e.runId === runId))
          const next = reservations.length > 0 || others.length !== ledger.entries.length ? { ...ledger, entries: [...others, ...reservations] } : undefined
          return { next, result: { refusal: undefined, forecasts } }
        }),
        Effect.catch((e: PlanError) => Effect.succeed({ next: undefined, result: { refusal: e, forecasts: [] as Array<DatasetForecast> } }))
      )
    )
    if (decided.refusal !== undefined) return yield* decided.refusal
    return decided.forecasts
  })

/** Removes a run's reservations (its end, whatever the outcome: what it spent is recorded). */
export const releaseReservations = (store: StoreLayout, runId: string) =>
  Effect.gen(function* () {
    const ledger = yield* readStoreLedger(store)
    if (!ledger.entries.some((e) => e.reserved === true && e.runId === runId)) return
    yield* updateStoreLedger(store, (l) => ({ ...l, entries: l.entries.filter((e) => !(e.reserved === true && e.runId === runId)) }))
  })

const refusalOf = (plan: Plan.Plan, forecasts: ReadonlyArray<DatasetForecast>): PlanError | undefined => {
  {
    const over = forecasts.filter((f) => overBudget(f.total, f.budget))
    if (over.length > 0) {
      return new PlanError({
        reason: "budget",
        message:
          `Pipeline ${plan.pipeline.name} would push ${over.map((f) => `dataset ${f.dataset.name}`).join(", ")} past its budget: ` +
          over.map((f) => `${f.dataset.name} (${f.dataset.hash.slice(0, 12)}) has spent epsilon ${f.spent.toFixed(4)} in earlier runs, this run would spend ${f.predicted.toFixed(4)}, ` +
            `together ${f.total.toFixed(4)} at delta ${formatDelta(f.delta)} (by ${f.accountant})` +
            (f.reservedBy.length > 0 ? ` counting the predicted spend of run${f.reservedBy.length > 1 ? "s" : ""} in progress ${f.reservedBy.join(", ")}` : "") +
            `, over the allowed ${f.budget!.epsilon}`).join("; ") +
          `. Nothing was written. Raise the noise multiplier, lower the steps or the sampling rate, or, if the data's owner agrees, raise the dataset's budget with ` +
          `\`pnpm pipeline budget set ${over[0]!.dataset.name} --epsilon E --delta ${formatDelta(over[0]!.delta)}\` (see \`pnpm pipeline budget\`).`
      })
    }
    return undefined
  }
}

/** Records a mechanism's ledger entry against every dataset it spends on (atomically, under the lock). */
export const recordDatasetSpend = (store: StoreLayout, datasets: ReadonlyArray<PlanDataset>, runId: string, delta: number, entry: LedgerEntry) => {
  const now = new Date().toISOString()
  const rows: Array<StoreLedgerEntry> = datasets.map((ds) => ({
    dataset: ds.hash,
    runId,
    node: entry.node,
    stageKey: entry.stageKey,
    id: entry.id,
    event: entry.event,
    steps: entry.steps,
    delta,
    recordedAt: now
  }))
  return updateStoreLedger(store, (l) => {
    const known = { ...l.datasets }
    for (const ds of datasets) known[ds.hash] ??= { name: ds.name, stage: ds.stage, firstSeen: now }
    return upsertStoreEntries({ ...l, datasets: known }, rows)
  })
}

/**
 * For a mechanism's per-step guard: the datasets whose budget `event` (replacing the
 * entry `id` of `stageKey`) would cross, with their epsilon.
 */
export const datasetsCrossed = (store: StoreLayout, accountants: Accountants, datasets: ReadonlyArray<PlanDataset>, runId: string, stageKey: string, id: string, event: unknown) =>
  Effect.gen(function* () {
    const ledger = yield* readStoreLedger(store)
    const crossed: Array<{ readonly dataset: PlanDataset; readonly epsilon: number; readonly budget: DatasetBudget }> = []
    for (const ds of datasets) {
      const budget = budgetOf(ledger, ds)
      if (budget === undefined) continue
      // Other runs' reservations count; this run's own reservation is what `event` replaces.
      const others = ledger.entries.filter((e) => e.dataset === ds.hash && (e.reserved === true ? e.runId !== runId : !(e.stageKey === stageKey && e.id === id)))
      const events = [...others.map((e) => e.event), event]
      const { primary } = yield* composeEpsilon(accountants, events, budget.delta)
      if (overBudget(primary, budget)) crossed.push({ dataset: ds, epsilon: primary, budget })
    }
    return crossed
  })

/** One dataset as `pipeline budget` shows it. */
export interface DatasetSummary {
  readonly name: string
  readonly sourceHash: string | null
  readonly epsilon: number
  readonly epsilonRdp: number | null
  readonly delta: number | null
  readonly budgetEpsilon: number | null
  readonly runs: ReadonlyArray<{ readonly runId: string; readonly stages: ReadonlyArray<string>; readonly steps: number }>
  /** Runs in progress that have reserved spend on it (not counted in epsilon). */
  readonly reservedBy: ReadonlyArray<string>
}

/** Every dataset of the store with its composed epsilon (by each accountant) and budget. */
export const summarizeDatasets = (store: StoreLayout, accountants: Accountants) =>
  Effect.gen(function* () {
    const ledger = yield* readStoreLedger(store)
    const out: Array<DatasetSummary> = []
    for (const [hash, ds] of Object.entries(ledger.datasets)) {
      const all = ledger.entries.filter((e) => e.dataset === hash)
      const entries = all.filter((e) => e.reserved !== true)
      const budget = budgetOf(ledger, { hash, name: ds.name })
      const delta = budget?.delta ?? (entries.length > 0 ? Math.min(...entries.map((e) => e.delta)) : undefined)
      const eps = delta === undefined ? { epsilon: {} as Record<string, number>, primary: 0 } : yield* composeEpsilon(accountants, entries.map((e) => e.event), delta)
      const runs = new Map<string, { stages: Set<string>; steps: number }>()
      for (const e of entries) {
        const r = runs.get(e.runId) ?? { stages: new Set<string>(), steps: 0 }
        r.stages.add(e.node)
        r.steps += e.steps
        runs.set(e.runId, r)
      }
      out.push({
        name: ds.name,
        sourceHash: hash,
        epsilon: eps.primary,
        epsilonRdp: eps.epsilon["rdp"] ?? null,
        delta: delta ?? null,
        budgetEpsilon: budget?.epsilon ?? null,
        runs: [...runs].map(([runId, r]) => ({ runId, stages: [...r.stages].sort(), steps: r.steps })),
        reservedBy: [...new Set(all.filter((e) => e.reserved === true).map((e) => e.runId))]
      })
    }
    // Budgets declared for datasets no run has touched yet.
    const seen = new Set(out.flatMap((d) => [d.name, d.sourceHash ?? ""]))
    for (const [key, b] of Object.entries(ledger.budgets)) {
      if (!seen.has(key)) out.push({ name: key, sourceHash: null, epsilon: 0, epsilonRdp: null, delta: b.delta, budgetEpsilon: b.epsilon, runs: [], reservedBy: [] })
    }
    return out
  })

/** Declares (or replaces) a dataset's budget, by name or source hash. */
export const setDatasetBudget = (store: StoreLayout, dataset: string, budget: DatasetBudget) =>
  updateStoreLedger(store, (l) => ({ ...l, budgets: { ...l.budgets, [dataset]: budget } }))

/** The delta a plan's spend is recorded at: its pipeline's budget delta. */
export const planDelta = (plan: Plan.Plan): number | undefined =>
  plan.pipeline.privacy !== undefined ? Pipeline.budgetAt(plan.pipeline.privacy, plan.scale).delta : undefined
