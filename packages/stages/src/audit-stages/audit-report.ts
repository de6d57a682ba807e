/**
 * The `audit-report` stage: the DP run's and the non-private baseline's one-run audits side
 * by side with the accountant's upper bound, as a summary JSON (what `run` prints) and a
 * small self-contained audit.html. Private: the baseline's audit is (its model is).
 */
import { Effect, Schema } from "effect"
import { Artifact, Stage } from "@dpipe/dsl"
import { el, render } from "@dpipe/stages/report-stages/html"
import { PrivacyAudit } from "@dpipe/stages/report-stages/schemas"
import { formatDelta, formatEpsilon } from "@dpipe/stages/report-stages/statement"

export const AuditSummary = Schema.Struct({
  dp: Schema.Struct({ epsilonLowerBound: Schema.Number, epsilonUpperBound: Schema.Number, correct: Schema.Number, guesses: Schema.Number }),
  nonPrivate: Schema.Struct({ epsilonLowerBound: Schema.Number, correct: Schema.Number, guesses: Schema.Number }),
  setting: Schema.String,
  canaries: Schema.Number,
  confidence: Schema.Number,
  delta: Schema.Number
})
export type AuditSummary = typeof AuditSummary.Type

/** audit.html: one table, the two audits and the accountant's epsilon, and both audits' sentences. */
export const renderAuditHtml = (dp: PrivacyAudit, base: PrivacyAudit): string => {
  const row = (label: string, a: PrivacyAudit, upper: string) =>
    el("tr", {}, el("td", {}, label), el("td", {}, `${a.correct} / ${a.guessesIn + a.guessesOut}`), el("td", { "data-lower": String(a.epsilonLowerBound) }, formatEpsilon(a.epsilonLowerBound)), el("td", {}, upper))
  const body = el(
    "body",
    {},
    el("h1", {}, "One-run privacy audit"),
    el("p", {}, `Steinke, Nasr and Jagielski 2023, ${dp.setting}: ${dp.canaries} canaries (${dp.canary}), each in the training set with probability 1/2; lower bounds at ${Number((100 * dp.confidence).toFixed(2))}% confidence, delta ${formatDelta(dp.delta)}. Label: private (the non-private run's audit is).`),
    el(
      "table",
      { "data-table": "privacy-audit" },
      el("tr", {}, el("th", {}, "training"), el("th", {}, "right guesses"), el("th", {}, "ε lower bound (audit)"), el("th", {}, "ε upper bound (accountant, PLD)")),
      row("DP-SGD", dp, dp.epsilonUpperBound === null ? "none" : formatEpsilon(dp.epsilonUpperBound)),
      row("non-private baseline", base, "none (no privacy guarantee)")
    ),
    el("p", {}, dp.text),
    el("p", {}, base.text)
  )
  return `<!doctype html>\n${render(el("html", { lang: "en" }, el("head", {}, el("meta", { charset: "utf-8" }), el("title", {}, "privacy audit")), body))}\n`
}

export const auditReport = Stage.make({
  name: "audit-report",
  version: "1",
  description: "The DP and non-private audits side by side with the accountant's epsilon: summary JSON and audit.html.",
  config: Schema.Struct({}),
  inputs: { dp: Artifact.json("privacy-audit", PrivacyAudit), nonPrivate: Artifact.json("privacy-audit", PrivacyAudit) },
  outputs: { summary: Artifact.json("audit-summary", AuditSummary), report: Artifact.file("audit-report", "html") },
  run: ({ inputs }) =>
    Effect.succeed({
      summary: {
        dp: { epsilonLowerBound: inputs.dp.epsilonLowerBound, epsilonUpperBound: inputs.dp.epsilonUpperBound ?? Number.NaN, correct: inputs.dp.correct, guesses: inputs.dp.guessesIn + inputs.dp.guessesOut },
        nonPrivate: { epsilonLowerBound: inputs.nonPrivate.epsilonLowerBound, correct: inputs.nonPrivate.correct, guesses: inputs.nonPrivate.guessesIn + inputs.nonPrivate.guessesOut },
        setting: inputs.dp.setting,
        canaries: inputs.dp.canaries,
        confidence: inputs.dp.confidence,
        delta: inputs.dp.delta
      },
      report: renderAuditHtml(inputs.dp, inputs.nonPrivate)
    })
})
