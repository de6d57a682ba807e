/**
 * The run report as one self-contained HTML document (no script, no external style,
 * font or image; a Content-Security-Policy forbids them), and the short summary the
 * CLI prints. Pure: `renderReport` takes decoded inputs and returns strings, so the
 * report can be tested and opened in a browser without running a pipeline.
 *
 * Sections: the privacy statement (label dp), training charts (loss of the DP and
 * non-private runs, epsilon against step, clipped fraction: from the metrics tables,
 * labelled private), evaluation and memorization tables (private). Every chart and
 * table carries its artifact's privacy label as a visible badge. All data-derived text
 * is escaped by construction (./html.ts).
 */
import type { PrivacyLabel } from "@dpipe/dsl"
import { el, fragment, htmlDocument, type Child, type Html } from "./html.ts"
import type { Evaluation, Memorization, ModelEvaluation } from "@dpipe/stages/eval-stages/tables"
import type { PrivacyStatement, ReportSummary } from "./schemas.ts"
import { formatDelta, formatEpsilon } from "./statement.ts"
import { downsample, lineChart, type Point } from "./svg.ts"

/** The metric columns the report reads (a subset of the TrainMetrics table). */
export interface MetricsRow {
  readonly step: number
  readonly loss: number
  readonly clipped_fraction: number
  readonly epsilon: number
  /** The stability guard's columns (docs/privacy.md, P12); absent or NaN/0 when unguarded. */
  readonly probe_loss?: number
  readonly spike?: number
  readonly rollback?: number
  readonly discarded?: number
}

/** The planner's prediction of the DP model's held-out loss, and where it came from. */
export interface PredictedLoss {
  readonly dp: number
  readonly source: string
}

export interface ReportLabels {
  readonly statement: PrivacyLabel
  readonly metrics: PrivacyLabel
  readonly evaluation: PrivacyLabel
  readonly memorization: PrivacyLabel
}

/** The labels the pipeline gives these artifacts (metrics and evaluations are unnoised). */
export const DEFAULT_LABELS: ReportLabels = { statement: "dp", metrics: "private", evaluation: "private", memorization: "private" }

export interface ReportInput {
  readonly title: string
  readonly statement: PrivacyStatement
  readonly dpMetrics: ReadonlyArray<MetricsRow>
  readonly baselineMetrics: ReadonlyArray<MetricsRow>
  readonly evaluation: Evaluation
  readonly memorization: Memorization
  readonly labels?: ReportLabels
  /** Points per chart series (longer runs are downsampled evenly). */
  readonly maxChartPoints?: number
  /** The planner's predicted DP loss, shown beside the achieved one. */
  readonly predictedLoss?: PredictedLoss
}

const finiteOrNull = (v: number | undefined): number | null => (v !== undefined && Number.isFinite(v) ? v : null)

/** Formats a table number: 4 significant digits, "n/a" for non-finite. */
export const num = (v: number | null | undefined, digits = 4): string =>
  v === null || v === undefined || !Number.isFinite(v) ? "n/a" : Number.isInteger(v) && Math.abs(v) < 1e9 ? String(v) : String(Number(v.toPrecision(digits)))

const pct = (v: number | null | undefined): string => (v === null || v === undefined || !Number.isFinite(v) ? "n/a" : `${Number((v * 100).toPrecision(3))}%`)

type ExposureGroup = Memorization["canaries"]["models"]["dp"]["byRepeats"][number]

/** The exposure groups of both models merged by repetition count, ascending. */
export const exposureByRepeats = (m: Memorization): ReadonlyArray<{ readonly repeats: number; readonly dp: ExposureGroup | undefined; readonly nonPrivate: ExposureGroup | undefined }> => {
  const repeats = [...new Set([...m.canaries.models.dp.byRepeats, ...m.canaries.models.nonPrivate.byRepeats].map((g) => g.repeats))].sort((a, b) => a - b)
  return repeats.map((r) => ({
    repeats: r,
    dp: m.canaries.models.dp.byRepeats.find((g) => g.repeats === r),
    nonPrivate: m.canaries.models.nonPrivate.byRepeats.find((g) => g.repeats === r)
  }))
}

/** The summary numbers (finite or null: JSON has no NaN). */
export const summarize = (input: Pick<ReportInput, "statement" | "dpMetrics" | "baselineMetrics" | "evaluation" | "memorization" | "predictedLoss">): ReportSummary => {
  const { statement: s, evaluation: e, memorization: m } = input
  const most = exposureByRepeats(m).at(-1)
  const x = m.extraction
  return {
    epsilon: s.epsilon,
    delta: s.delta,
    epsilonRdp: s.rdp._tag === "Computed" ? s.rdp.epsilon : null,
    steps: s.steps,
    evalLoss: { dp: finiteOrNull(e.models.dp.meanLoss), nonPrivate: finiteOrNull(e.models.nonPrivate.meanLoss), unigram: finiteOrNull(e.models.unigram.meanLoss) },
    predictedLoss: { dp: finiteOrNull(input.predictedLoss?.dp) },
    bitsPerByte: { dp: finiteOrNull(e.models.dp.bitsPerByte), nonPrivate: finiteOrNull(e.models.nonPrivate.bitsPerByte), unigram: finiteOrNull(e.models.unigram.bitsPerByte) },
    exposure: {
      dp: finiteOrNull(m.canaries.models.dp.meanExposure),
      nonPrivate: finiteOrNull(m.canaries.models.nonPrivate.meanExposure),
      maxMeasurable: finiteOrNull(m.canaries.maxMeasurableExposure),
      mostRepeated: most === undefined ? null : { repeats: most.repeats, dp: finiteOrNull(most.dp?.meanExposure), nonPrivate: finiteOrNull(most.nonPrivate?.meanExposure) }
    },
    extractionExact: {
      sampled: { dp: x.sampled.models.dp.attempts > 0 ? finiteOrNull(x.sampled.models.dp.exactRate) : null, nonPrivate: x.sampled.models.nonPrivate.attempts > 0 ? finiteOrNull(x.sampled.models.nonPrivate.exactRate) : null },
      duplicated: {
        dp: x.duplicated.models.dp.attempts > 0 ? finiteOrNull(x.duplicated.models.dp.exactRate) : null,
        nonPrivate: x.duplicated.models.nonPrivate.attempts > 0 ? finiteOrNull(x.duplicated.models.nonPrivate.exactRate) : null
      }
    },
    finalTrainLoss: { dp: finiteOrNull(input.dpMetrics.at(-1)?.loss), nonPrivate: finiteOrNull(input.baselineMetrics.at(-1)?.loss) },
    stability: stabilityCounts(input.dpMetrics)
  }
}

/** Spikes, rollbacks and discarded steps of a guarded run (all 0 for an unguarded one). */
export const stabilityCounts = (rows: ReadonlyArray<MetricsRow>): ReportSummary["stability"] => ({
  spikes: rows.filter((r) => r.spike === 1).length,
  rollbacks: rows.filter((r) => r.rollback === 1).length,
  discardedSteps: rows.filter((r) => r.discarded === 1).length
})

/** Relative difference of achieved from predicted, as a signed percentage ("+2.1%"). */
const relDiff = (achieved: number | null, predicted: number | null): string =>
  achieved === null || predicted === null || predicted === 0 ? "n/a" : `${achieved >= predicted ? "+" : ""}${Number((((achieved - predicted) / predicted) * 100).toPrecision(3))}%`

/** A visible privacy-label badge. */
export const badge = (label: PrivacyLabel): Html =>
  el("span", { class: `badge badge-${label}`, "data-label": label, title: LABEL_HELP[label] }, label)

const LABEL_HELP: Readonly<Record<PrivacyLabel, string>> = {
  public: "public: computed from public data only",
  dp: "dp: released by an accounted DP mechanism (or post-processing of one)",
  private: "private: computed from private data without noise; do not share outside the trusted boundary"
}

/** A figure or table block with its title, artifact name and privacy label. */
const block = (kind: "chart" | "table", id: string, title: string, label: PrivacyLabel, source: string, ...body: ReadonlyArray<Child>): Html =>
  el(
    "figure",
    { class: `block ${kind}`, id: `${kind}-${id}`, "data-block": id, "data-label": label },
    el("figcaption", {}, el("span", { class: "block-title" }, title), " ", badge(label), " ", el("span", { class: "source" }, `from ${source}`)),
    ...body
  )

/** Cells holding words rather than figures are left-aligned. */
const isText = (c: Child): boolean => typeof c === "string" && c !== "" && !/^[-+\d.,e%/()\s]*$|^n\/a$/.test(c) && !/^[\d.]+ \(/.test(c)

const table = (head: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<Child>>, attrs: Readonly<Record<string, string>> = {}): Html =>
  el(
    "table",
    attrs,
    el("thead", {}, el("tr", {}, head.map((h) => el("th", { scope: "col" }, h)))),
    el("tbody", {}, rows.map((r) => el("tr", {}, r.map((c, i) => (i === 0 ? el("th", { scope: "row" }, c) : el("td", isText(c) ? { class: "text" } : {}, c))))))
  )

const series = (rows: ReadonlyArray<MetricsRow>, pick: (r: MetricsRow) => number, max: number): ReadonlyArray<Point> =>
  downsample(
    rows.map((r) => ({ x: r.step + 1, y: pick(r) })),
    max
  )

const STYLE = `
:root { color-scheme: light; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0 auto; max-width: 980px; padding: 16px 24px 48px; color: #1b1b1b; }
h1 { font-size: 22px; margin: 8px 0 4px; } h2 { font-size: 18px; margin: 28px 0 8px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
.note { color: #555; }
.badge { display: inline-block; font-size: 11px; font-weight: 600; letter-spacing: .03em; text-transform: uppercase; border-radius: 4px; padding: 1px 6px; vertical-align: middle; }
.badge-private { background: #ffe3e3; color: #a61e1e; border: 1px solid #f5a3a3; }
.badge-dp { background: #e3f0ff; color: #174ea6; border: 1px solid #a3c4f5; }
.badge-public { background: #e6f6e6; color: #1f6b1f; border: 1px solid #a6d8a6; }
figure.block { margin: 16px 0; padding: 10px 12px; border: 1px solid #e3e3e3; border-radius: 6px; }
figcaption { margin-bottom: 8px; } .block-title { font-weight: 600; } .source { color: #777; font-size: 12px; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { border-bottom: 1px solid #eee; padding: 4px 10px; text-align: right; } td.text { text-align: left; } thead th { border-bottom: 2px solid #ccc; } tbody th { text-align: left; font-weight: 500; }
svg { max-width: 100%; height: auto; display: block; } .statement-text { max-width: 75ch; }
.epsilon { font-size: 20px; font-weight: 700; }
code { font-size: 12px; }
`

const modelRow = (name: string, e: ModelEvaluation): ReadonlyArray<Child> => [name, e.description, num(e.meanLoss), num(e.perplexity), num(e.bitsPerToken), num(e.bitsPerByte), num(e.tokens), num(e.bytes)]

type Matches = Memorization["extraction"]["sampled"]["models"]["dp"]
const matchCells = (c: Matches): ReadonlyArray<Child> => [`${pct(c.exactRate)} (${c.exact}/${c.attempts})`, `${pct(c.approximateRate)} (${c.approximate}/${c.attempts})`]

/** Renders the report; returns the HTML document and the summary. */
export const renderReport = (input: ReportInput): { readonly html: string; readonly summary: ReportSummary } => {
  const labels = input.labels ?? DEFAULT_LABELS
  const s = input.statement
  const max = input.maxChartPoints ?? 600
  const summary = summarize(input)
  const metricsSource = "dp-train.metrics, baseline.metrics"

  const statementBlock = block(
    "table",
    "privacy-statement",
    "Privacy statement",
    labels.statement,
    "privacy-statement.statement",
    el(
      "p",
      { class: "epsilon", id: "epsilon" },
      "(ε, δ) = (",
      el("span", { "data-epsilon": String(s.epsilon), class: "epsilon-value" }, formatEpsilon(s.epsilon)),
      ", ",
      el("span", { "data-delta": String(s.delta) }, formatDelta(s.delta)),
      ")",
      el("span", { class: "note" }, ` by PLD, per ${s.sequenceTokens}-token sequence`)
    ),
    el("p", { class: "statement-text" }, s.text),
    table(
      ["parameter", "value"],
      [
        ["privacy unit", `one ${s.sequenceTokens}-token sequence`],
        ["neighbouring relation", s.neighbouring === "add_remove" ? "add or remove one sequence" : "replace one sequence"],
        ["sampling", s.sampling.method === "poisson" ? "Poisson" : "truncated Poisson"],
        ["sampling rate q", num(s.sampling.samplingRate, 6)],
        ["dataset size N (sequences)", s.sampling.datasetSize === undefined ? "not published (no public size declared)" : `${num(s.sampling.datasetSize)} (declared public size)`],
        ["expected batch q·N", s.sampling.expectedBatchSize === undefined ? "not published" : num(s.sampling.expectedBatchSize, 6)],
        ["batch cap (truncation)", s.sampling.batchCap === undefined ? "none" : num(s.sampling.batchCap)],
        ["noise multiplier σ", num(s.noiseMultiplier, 6)],
        ["clip norm C", num(s.clipNorm, 6)],
        ["noise std σ·C", num(s.noiseStd, 6)],
        ["steps run / planned", `${s.steps} / ${s.plannedSteps}`],
        ["δ", formatDelta(s.delta)],
        ["ε (PLD, authoritative)", formatEpsilon(s.pld.epsilon)],
        ["ε (RDP cross-check)", s.rdp._tag === "Computed" ? `${formatEpsilon(s.rdp.epsilon)} (order ${s.rdp.order})` : `omitted: ${s.rdp.reason}`],
        ...(s.budget === undefined ? [] : [["declared budget ε", `${num(s.budget.epsilon)} (${s.budget.withinBudget ? "within" : "EXCEEDED"})`]]),
        ...(s.audit === undefined
          ? []
          : [["ε lower bound (one-run audit)", `${formatEpsilon(s.audit.epsilonLowerBound)} at ${num(100 * s.audit.confidence)}% confidence (${s.audit.setting}, ${s.audit.correct} of ${s.audit.guessesIn + s.audit.guessesOut} guesses right, ${s.audit.canaries} canaries)`]])
      ],
      { "data-table": "privacy-statement" }
    )
  )

  const lossChart = block(
    "chart",
    "loss",
    "Training loss (unnoised batch loss, nats/token)",
    labels.metrics,
    metricsSource,
    lineChart({
      id: "loss",
      title: "Training loss against step",
      xLabel: "step",
      yLabel: "loss",
      series: [
        { name: "DP-SGD", points: series(input.dpMetrics, (r) => r.loss, max) },
        { name: "non-private", points: series(input.baselineMetrics, (r) => r.loss, max) }
      ]
    })
  )
  const epsSeries = series(input.dpMetrics, (r) => r.epsilon, max)
  const epsilonChart = block(
    "chart",
    "epsilon",
    "Privacy spent: epsilon against step",
    labels.metrics,
    "dp-train.metrics (RDP per step), privacy-statement (PLD final)",
    lineChart({
      id: "epsilon",
      title: `ε against step at δ = ${formatDelta(s.delta)}`,
      xLabel: "step",
      yLabel: "ε",
      yMin: 0,
      series: [
        { name: "RDP (per step)", points: epsSeries },
        { name: "PLD (final)", points: [{ x: s.steps, y: s.epsilon }], markersOnly: true }
      ]
    }),
    epsSeries.some((p) => Number.isFinite(p.y)) ? null : el("p", { class: "note" }, "No per-step RDP epsilon: RDP does not apply to this mechanism; the PLD figure is the final one.")
  )
  const clippedChart = block(
    "chart",
    "clipped",
    "Fraction of per-example gradients clipped (DP run)",
    labels.metrics,
    "dp-train.metrics",
    lineChart({
      id: "clipped",
      title: "Clipped fraction against step",
      xLabel: "step",
      yLabel: "clipped fraction",
      yMin: 0,
      yMax: 1,
      series: [{ name: "DP-SGD", points: series(input.dpMetrics, (r) => r.clipped_fraction, max) }]
    })
  )

  const stab = summary.stability
  const guarded = input.dpMetrics.some((r) => r.probe_loss !== undefined && Number.isFinite(r.probe_loss))
  const stabilityBlock = block(
    "table",
    "stability",
    "Training stability (DP run)",
    labels.metrics,
    "dp-train.metrics",
    guarded
      ? lineChart({
          id: "probe",
          title: "DP weights' loss on the public probe against executed step",
          xLabel: "executed step",
          yLabel: "probe loss",
          series: [
            { name: "probe loss", points: series(input.dpMetrics, (r) => r.probe_loss ?? Number.NaN, max) },
            { name: "rollback", points: input.dpMetrics.filter((r) => r.rollback === 1).map((r) => ({ x: r.step + 1, y: r.probe_loss ?? Number.NaN })), markersOnly: true }
          ]
        })
      : null,
    table(
      ["guard", "value"],
      [
        ["probe-loss spikes", num(stab.spikes)],
        ["rollbacks to the last good checkpoint", num(stab.rollbacks)],
        ["executed steps discarded (still counted in ε)", num(stab.discardedSteps)],
        ["rollbacks at executed step", stab.rollbacks === 0 ? "none" : input.dpMetrics.filter((r) => r.rollback === 1).map((r) => String(r.step + 1)).join(", ")]
      ],
      { "data-table": "stability" }
    ),
    el(
      "p",
      { class: "note" },
      guarded
        ? "The guard scores the DP weights on public text after every step (a post-processing of DP releases). Spike: probe loss above median + max(k·1.4826·MAD, floor·median) of the trailing window; divergence: a non-finite loss, consecutive spikes, or a loss above the untrained model's by the margin. A divergence rolls back to the last good checkpoint with a lower learning rate; the discarded steps stay counted in the privacy ledger."
        : "This run was not guarded (stability.enabled=false)."
    )
  )

  const ev = input.evaluation
  const evaluationBlock = block(
    "table",
    "evaluation",
    "Held-out evaluation",
    labels.evaluation,
    "evaluate.evaluation",
    table(
      ["model", "description", "loss (nats/token)", "perplexity", "bits per token", "bits per byte", "tokens", "bytes"],
      [modelRow("DP-SGD", ev.models.dp), modelRow("non-private", ev.models.nonPrivate), modelRow("unigram", ev.models.unigram)],
      { "data-table": "evaluation" }
    ),
    el(
      "p",
      { class: "note" },
      `${ev.sequences} of ${ev.availableSequences} held-out sequences of ${ev.seqLen} tokens. Scoring: `,
      ev.scoring,
      /[.!?]$/.test(ev.scoring) ? "" : ".",
      ` Unigram baseline: ${ev.unigram.smoothing} smoothing over ${ev.unigram.trainTokens} training tokens, vocabulary ${ev.unigram.vocabSize}. `,
      ev.note
    )
  )

  const mem = input.memorization
  const c = mem.canaries
  const x = mem.extraction
  const memorizationBlock = block(
    "table",
    "memorization",
    "Memorization",
    labels.memorization,
    "memorization.memorization",
    el("h3", {}, "Canary exposure by repetition count (bits)"),
    el(
      "p",
      { class: "note" },
      `${c.count} canaries, each ranked among ${c.candidates} random candidates of its format: the estimate can show at most ${num(c.maxMeasurableExposure)} bits ` +
        `(a perfectly memorized secret has ${num(c.log2SecretSpace)}). Mean exposure DP ${num(c.models.dp.meanExposure)}, non-private ${num(c.models.nonPrivate.meanExposure)}. Estimator: `,
      c.estimator
    ),
    table(
      ["repeats", "canaries", "mean exposure DP", "mean exposure non-private", "max DP", "max non-private", "normal-fit DP", "normal-fit non-private", "secrets extracted DP", "secrets extracted non-private"],
      exposureByRepeats(mem).map((g) => [
        num(g.repeats),
        num(g.dp?.canaries ?? g.nonPrivate?.canaries),
        num(g.dp?.meanExposure),
        num(g.nonPrivate?.meanExposure),
        num(g.dp?.maxExposure),
        num(g.nonPrivate?.maxExposure),
        num(g.dp?.meanExposureNormalFit),
        num(g.nonPrivate?.meanExposureNormalFit),
        num(g.dp?.secretsExtracted),
        num(g.nonPrivate?.secretsExtracted)
      ]),
      { "data-table": "exposure" }
    ),
    el("h3", {}, "Extraction (greedy continuation of a prefix)"),
    el(
      "p",
      { class: "note" },
      `Prompt ${x.prefixTokens} tokens, compare ${x.suffixTokens}; approximate = normalized edit distance at most ${num(x.editThreshold)}. `,
      x.method
    ),
    table(
      ["set", "sequences", "exact DP", "approximate DP", "exact non-private", "approximate non-private"],
      [
        ["sampled training sequences", num(x.sampled.sequences), ...matchCells(x.sampled.models.dp), ...matchCells(x.sampled.models.nonPrivate)],
        [
          "duplicated content",
          `${x.duplicated.sequences} (${x.duplicated.canarySequences} with canaries, ${x.duplicated.repeatedSequences} repeated)`,
          ...matchCells(x.duplicated.models.dp),
          ...matchCells(x.duplicated.models.nonPrivate)
        ],
        ["canary secrets", num(x.canarySecrets.attempts), ...matchCells(x.canarySecrets.models.dp), ...matchCells(x.canarySecrets.models.nonPrivate)]
      ],
      { "data-table": "extraction" }
    ),
    el("p", { class: "note" }, "Canary secrets: ", x.canarySecrets.method),
    el("p", { class: "note" }, mem.note)
  )

  const summaryRows: ReadonlyArray<ReadonlyArray<Child>> = [
    ["ε (PLD) at δ", `${formatEpsilon(summary.epsilon)} at ${formatDelta(summary.delta)}`],
    ["eval loss DP / non-private / unigram", `${num(summary.evalLoss.dp)} / ${num(summary.evalLoss.nonPrivate)} / ${num(summary.evalLoss.unigram)}`],
    ...(input.predictedLoss === undefined
      ? []
      : [
          [
            "eval loss DP: predicted / achieved",
            el(
              "span",
              { "data-predicted-loss": String(input.predictedLoss.dp), "data-achieved-loss": String(summary.evalLoss.dp) },
              `${num(input.predictedLoss.dp)} / ${num(summary.evalLoss.dp)} (${relDiff(summary.evalLoss.dp, summary.predictedLoss.dp)}; predicted by ${input.predictedLoss.source})`
            )
          ]
        ]),
    ["DP training stability: spikes / rollbacks / discarded steps", `${stab.spikes} / ${stab.rollbacks} / ${stab.discardedSteps}`],
    ["mean canary exposure DP / non-private (bits)", `${num(summary.exposure.dp)} / ${num(summary.exposure.nonPrivate)}`]
  ]
  const body = fragment(
    el("h1", {}, input.title),
    el(
      "p",
      { class: "note" },
      "This report contains artifacts computed from private data without noise; they are marked ",
      badge("private"),
      ". Keep the report inside the trusted boundary. Only the items marked ",
      badge("dp"),
      " are DP releases."
    ),
    table(["summary", ""], summaryRows, { "data-table": "summary" }),
    el("h2", {}, "Privacy"),
    statementBlock,
    el("h2", {}, "Training"),
    lossChart,
    epsilonChart,
    clippedChart,
    stabilityBlock,
    el("h2", {}, "Evaluation"),
    evaluationBlock,
    el("h2", {}, "Memorization"),
    memorizationBlock
  )
  const html = htmlDocument({ title: input.title, style: STYLE, viewport: true }, body)
  return { html, summary }
}
