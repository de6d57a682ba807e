/**
 * The dp-scaling report (pure; the `scaling-report` stage writes it): a self-contained HTML
 * page with inline SVG charts, drawn by report-stages/svg.ts:
 *
 * - loss against steps, one chart per model, one series per noise-batch ratio sigma-bar
 *   (the best learning rate at each step; the law's fit to them is in the residuals table);
 * - the fitted surface as iso-loss curves over (log10 T, log10 sigma-bar), one chart per
 *   model: for each loss level, the sigma-bar at which the law reaches it at each T (the
 *   law is non-decreasing in sigma-bar, so the level set is found by bisection);
 * - the planner's optimum against compute (planTraining at the stated epsilon, delta and
 *   N): predicted loss (DP and the non-private optimum), and the chosen model size, expected
 *   batch and steps;
 * - the fit's residuals (semi-parametric in-sample, parametric).
 */
import { type PlanResult, type ScalingLaw, lawDomain, planTraining, predictLoss } from "@dpipe/scaling"
import { el, fragment, htmlDocument, type Child, type Html } from "../report-stages/html.ts"
import { type Series, lineChart } from "../report-stages/svg.ts"
import type { SweepObservationRow } from "./tables.ts"

export interface PlannerSettings {
  readonly epsilon: number
  readonly delta: number
  readonly datasetSize: number
  /** log10 of the compute range, and the number of points. */
  readonly log10ComputeMin: number
  readonly log10ComputeMax: number
  readonly points: number
  /** The accountant of the reported plans ("rdp": the planner's grid accountant, no PLD refinement). */
  readonly accountant: "rdp" | "pld"
  /** Expected batch sizes tried per model (log-spaced). */
  readonly batchGridSize: number
}

export interface ScalingReportInput {
  readonly title: string
  readonly law: ScalingLaw
  readonly observations: ReadonlyArray<SweepObservationRow>
  readonly residuals: {
    readonly semiParametric: { readonly rmsRelError: number; readonly maxAbsRelError: number; readonly count: number }
    readonly parametric: { readonly rmsRelError: number; readonly maxAbsRelError: number; readonly count: number }
  }
  readonly planner: PlannerSettings
}

export interface PlannerPoint {
  readonly computeFlops: number
  readonly plan: PlanResult | undefined
  readonly error: string | undefined
}

export interface ScalingReportSummary {
  readonly models: ReadonlyArray<string>
  readonly runs: number
  readonly observations: number
  readonly semiParametricRmsRelError: number
  readonly parametricRmsRelError: number
  readonly planner: ReadonlyArray<{ readonly computeFlops: number; readonly model: string | null; readonly expectedBatchSize: number | null; readonly steps: number | null; readonly noiseMultiplier: number | null; readonly predictedLoss: number | null }>
}

const STYLE = `
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0 auto; max-width: 980px; padding: 16px 24px 48px; color: #1b1b1b; }
h1 { font-size: 22px; margin: 8px 0 4px; } h2 { font-size: 18px; margin: 28px 0 8px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
.note { color: #555; } figure { margin: 12px 0; } svg { max-width: 100%; height: auto; display: block; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; } th, td { border-bottom: 1px solid #eee; padding: 4px 10px; text-align: right; } td.text { text-align: left; }
`

const fmt = (v: number | null | undefined, digits = 4): string => (v === null || v === undefined || !Number.isFinite(v) ? "-" : Math.abs(v) >= 1e5 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(2) : String(Number(v.toPrecision(digits))))
const pct = (v: number): string => (Number.isFinite(v) ? `${(v * 100).toFixed(2)}%` : "-")
const sigmaLabel = (s: number): string => (s === 0 ? "sigma-bar 0" : `sigma-bar 2^${Math.round(Math.log2(s))}`)

/** Per model: best loss over learning rates at each (sigma-bar, step). */
const bestCurves = (rows: ReadonlyArray<SweepObservationRow>) => {
  const by = new Map<string, Map<number, Map<number, number>>>()
  for (const r of rows) {
    if (!Number.isFinite(r.loss)) continue
    const m = by.get(r.model) ?? new Map<number, Map<number, number>>()
    by.set(r.model, m)
    const s = m.get(r.noise_batch_ratio) ?? new Map<number, number>()
    m.set(r.noise_batch_ratio, s)
    s.set(r.step, Math.min(s.get(r.step) ?? Number.POSITIVE_INFINITY, r.loss))
  }
  return by
}

/** The log10 sigma-bar at which the law reaches `level` at (params, steps), by bisection on the grid's sigma-bar range; NaN when outside. */
export const isoNoise = (law: ScalingLaw, params: number, steps: number, level: number): number => {
  const g = law.grid.logNoiseBatchRatio
  let lo = g[0] as number
  let hi = g[g.length - 1] as number
  const f = (ls: number) => predictLoss(law, { params, steps, noiseBatchRatio: Math.exp(ls) })
  const flo = f(lo)
  const fhi = f(hi)
  if (!Number.isFinite(flo) || !Number.isFinite(fhi) || level < flo || level > fhi) return Number.NaN
  for (let i = 0; i < 40; i++) {
    const mid = (lo + hi) / 2
    if (f(mid) < level) lo = mid
    else hi = mid
  }
  return (lo + hi) / 2 / Math.LN10
}

export const plannerSweep = (law: ScalingLaw, p: PlannerSettings): ReadonlyArray<PlannerPoint> =>
  Array.from({ length: p.points }, (_, i) => {
    const computeFlops = Math.pow(10, p.log10ComputeMin + ((p.log10ComputeMax - p.log10ComputeMin) * i) / Math.max(1, p.points - 1))
    try {
      return { computeFlops, plan: planTraining(law, { computeFlops, epsilon: p.epsilon, delta: p.delta, datasetSize: p.datasetSize, accountant: p.accountant, batchGridSize: p.batchGridSize }), error: undefined }
    } catch (e) {
      return { computeFlops, plan: undefined, error: e instanceof Error ? e.message : String(e) }
    }
  })

const table = (head: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<Child>>, id: string): Html =>
  el("table", { "data-table": id }, el("thead", {}, el("tr", {}, head.map((h) => el("th", {}, h)))), el("tbody", {}, rows.map((r) => el("tr", {}, r.map((c, i) => el("td", i === 0 ? { class: "text" } : {}, c))))))

export const renderScalingReport = (input: ScalingReportInput): { readonly html: string; readonly summary: ScalingReportSummary } => {
  const { law } = input
  const curves = bestCurves(input.observations)
  const models = law.models.map((m) => m.name)
  const lossCharts = law.models.map((m) => {
    const bySigma = curves.get(m.name) ?? new Map<number, Map<number, number>>()
    const series: Array<Series> = []
    for (const s of [...bySigma.keys()].sort((a, b) => a - b)) {
      const pts = [...(bySigma.get(s) ?? new Map<number, number>()).entries()].sort((a, b) => a[0] - b[0])
      series.push({ name: sigmaLabel(s), points: pts.map(([x, y]) => ({ x, y })) })
    }
    return el("figure", {}, lineChart({ id: `loss-${m.name}`, title: `${m.name} (${fmt(m.params)} params): held-out loss vs steps`, xLabel: "steps T", yLabel: "loss (nats/token)", series, maxMarkers: 16, height: 320 }))
  })
  const d = lawDomain(law)
  const logT = Array.from({ length: 40 }, (_, i) => Math.log10(d.steps.min) + ((Math.log10(d.steps.max) - Math.log10(d.steps.min)) * i) / 39)
  const isoCharts = law.models.map((m) => {
    const values: Array<number> = []
    for (const t of logT) for (const ls of law.grid.logNoiseBatchRatio) {
      const v = predictLoss(law, { params: m.params, steps: Math.pow(10, t), noiseBatchRatio: Math.exp(ls) })
      if (Number.isFinite(v)) values.push(v)
    }
    const lo = Math.min(...values)
    const hi = Math.max(...values)
    const levels = values.length === 0 ? [] : Array.from({ length: 6 }, (_, i) => lo + ((hi - lo) * (i + 0.5)) / 6)
    const series: Array<Series> = levels.map((level) => ({ name: `loss ${level.toFixed(2)}`, points: logT.map((t) => ({ x: t, y: isoNoise(law, m.params, Math.pow(10, t), level) })) }))
    return el("figure", {}, lineChart({ id: `iso-${m.name}`, title: `${m.name}: iso-loss curves of the fitted law`, xLabel: "log10 steps T", yLabel: "log10 sigma-bar", series, maxMarkers: 8 }))
  })
  const sweep = plannerSweep(law, input.planner)
  const x = (p: PlannerPoint) => Math.log10(p.computeFlops)
  const plannerCharts = [
    lineChart({
      id: "planner-loss",
      title: `planner optimum vs compute (epsilon ${input.planner.epsilon}, delta ${fmt(input.planner.delta)}, N ${input.planner.datasetSize})`,
      xLabel: "log10 compute (FLOPs)",
      yLabel: "predicted loss",
      series: [
        { name: "DP optimum", points: sweep.map((p) => ({ x: x(p), y: p.plan?.best.predictedLoss ?? Number.NaN })) },
        { name: "non-private optimum", dashed: true, points: sweep.map((p) => ({ x: x(p), y: p.plan?.nonPrivate?.predictedLoss ?? Number.NaN })) }
      ]
    }),
    lineChart({
      id: "planner-allocation",
      title: "the DP optimum's allocation vs compute",
      xLabel: "log10 compute (FLOPs)",
      yLabel: "log10 value",
      series: [
        { name: "params M", points: sweep.map((p) => ({ x: x(p), y: p.plan === undefined ? Number.NaN : Math.log10(p.plan.best.params) })) },
        { name: "expected batch B", points: sweep.map((p) => ({ x: x(p), y: p.plan === undefined ? Number.NaN : Math.log10(p.plan.best.expectedBatchSize) })) },
        { name: "steps T", points: sweep.map((p) => ({ x: x(p), y: p.plan === undefined ? Number.NaN : Math.log10(p.plan.best.steps) })) },
        { name: "non-private M", dashed: true, points: sweep.map((p) => ({ x: x(p), y: p.plan?.nonPrivate === undefined ? Number.NaN : Math.log10(p.plan.nonPrivate.params) })) }
      ]
    })
  ]
  const plannerTable = table(
    ["compute (FLOPs)", "model", "params", "expected batch", "steps", "sigma", "sigma-bar", "predicted loss", "non-private model", "non-private loss"],
    sweep.map((p) => p.plan === undefined
      ? [fmt(p.computeFlops), `no plan: ${p.error ?? ""}`, "", "", "", "", "", "", "", ""]
      : [fmt(p.computeFlops), p.plan.best.model, fmt(p.plan.best.params), fmt(p.plan.best.expectedBatchSize), fmt(p.plan.best.steps), fmt(p.plan.best.noiseMultiplier), fmt(p.plan.best.noiseBatchRatio), fmt(p.plan.best.predictedLoss), p.plan.nonPrivate?.model ?? "-", fmt(p.plan.nonPrivate?.predictedLoss)]),
    "planner"
  )
  const runs = new Set(input.observations.map((r) => `${r.model}|${r.noise_batch_ratio}|${r.learning_rate}`)).size
  const body = fragment(
    el("h1", {}, input.title),
    el("p", { class: "note" }, `${input.observations.length} observations of ${runs} sweep runs (public proxy data); models ${models.join(", ")}; sequence length ${law.sequenceLength}, physical batch ${law.physicalBatch}; observed steps ${fmt(law.observedSteps.min)}-${fmt(law.observedSteps.max)}, extrapolated to ${fmt(d.steps.max)}.`),
    el("h2", {}, "Loss vs steps per noise-batch ratio"),
    el("p", { class: "note" }, "The best learning rate's held-out loss at each logged step (the law's residuals against these points are at the end)."),
    lossCharts,
    el("h2", {}, "The fitted surface: iso-loss curves"),
    el("p", { class: "note" }, "Each curve is the noise-batch ratio at which the law reaches one loss level, against steps: above a curve the loss is higher."),
    isoCharts,
    el("h2", {}, "The planner's optimum vs compute"),
    el("p", { class: "note" }, `planTraining on this law at epsilon ${input.planner.epsilon}, delta ${fmt(input.planner.delta)}, N = ${input.planner.datasetSize} privacy units (Poisson sampling; sigma by ${input.planner.accountant === "rdp" ? "RDP" : "PLD"}, ${input.planner.batchGridSize} batch sizes per model).`),
    plannerCharts.map((c) => el("figure", {}, c)),
    plannerTable,
    el("h2", {}, "Residuals of the fits"),
    table(
      ["fit", "observations", "rms relative error", "max |relative error|"],
      [
        ["semi-parametric (in-sample, best learning rate)", fmt(input.residuals.semiParametric.count), pct(input.residuals.semiParametric.rmsRelError), pct(input.residuals.semiParametric.maxAbsRelError)],
        ["parametric (App. E form)", fmt(input.residuals.parametric.count), pct(input.residuals.parametric.rmsRelError), pct(input.residuals.parametric.maxAbsRelError)]
      ],
      "residuals"
    )
  )
  const html = htmlDocument({ title: input.title, style: STYLE }, body)
  const num = (v: number | undefined): number | null => (v === undefined || !Number.isFinite(v) ? null : v)
  return {
    html,
    summary: {
      models,
      runs,
      observations: input.observations.length,
      semiParametricRmsRelError: input.residuals.semiParametric.rmsRelError,
      parametricRmsRelError: input.residuals.parametric.rmsRelError,
      planner: sweep.map((p) => ({
        computeFlops: p.computeFlops,
        model: p.plan?.best.model ?? null,
        expectedBatchSize: num(p.plan?.best.expectedBatchSize),
        steps: num(p.plan?.best.steps),
        noiseMultiplier: num(p.plan?.best.noiseMultiplier),
        predictedLoss: num(p.plan?.best.predictedLoss)
      }))
    }
  }
}
