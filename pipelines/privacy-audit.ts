/**
 * privacy-audit: a one-run empirical privacy audit of dpipe's DP-SGD (Steinke, Nasr and
 * Jagielski 2023), next to the accountant's epsilon.
 *
 *   corpus, public-corpus -> split, tokenizer -> pack (as in vaultgemma-1b)
 *   pack -> dp-audit       (DP-SGD, 1000 white-box gradient canaries) -> privacy-statement -> audited-statement
 *        -> baseline-audit (the same without clipping or noise)
 *   dp-audit, baseline-audit -> audit-report (summary printed at the end; audit.html in the run directory)
 *
 * It is a pipeline of its own rather than a stage of vaultgemma-1b: the audited model is a
 * separate training run (the canaries change it), with a sampling rate high enough that
 * canaries are sampled at all (vaultgemma-1b's micro scale sees each sequence 0.03 times), so
 * it would add a third training run to the default pipeline. The audit's DP run spends on
 * the corpus like any DP mechanism (docs/privacy.md, D1).
 */
import { Pipeline } from "@dpipe/dsl"
import type { Settings } from "@dpipe/dsl"
import { addDataStages, auditedStatement, auditReport, baselineAudit, calibrateSigmaByPld, dataScales, defaultAccountants, dpAudit, privacyStatement } from "@dpipe/stages"

const BUDGET = { epsilon: 8, delta: 1e-6 }
const microModel = { dModel: 32, layers: 1, heads: 2, kvHeads: 1, headDim: 16, ffnDim: 64 }

/** The audited training of one scale (both runs), sigma calibrated to the budget by PLD (cached by its inputs). */
const auditScale = (s: { readonly steps: number; readonly samplingRate: number; readonly canaries: number; readonly kPlus: number }): Settings => {
  const sigma = calibrateSigmaByPld({ samplingRate: s.samplingRate, steps: s.steps, epsilon: BUDGET.epsilon, delta: BUDGET.delta, relTol: 1e-3 })
  const out: Record<string, unknown> = {}
  for (const node of ["dp-audit", "baseline-audit"]) {
    out[`${node}.train.steps`] = s.steps
    out[`${node}.train.samplingRate`] = s.samplingRate
    out[`${node}.train.noiseMultiplier`] = sigma
    out[`${node}.audit.canaries`] = s.canaries
    out[`${node}.audit.kPlus`] = s.kPlus
  }
  return out
}

export const scales: Record<string, Settings> = {
  // A subset of the micro corpus (about a thousand sequences): each audit run sees every sequence twice.
  micro: { ...dataScales.micro, "corpus.maxDocuments": 40, ...auditScale({ steps: 40, samplingRate: 0.05, canaries: 1000, kPlus: 100 }) }
}

export default Pipeline.make(
  "privacy-audit",
  {
    description: "One-run privacy audit (white-box gradient canaries) of DP-SGD and of the non-private baseline, beside the accountant's epsilon",
    scales,
    defaultScale: "micro",
    privacy: { budget: BUDGET, accountants: defaultAccountants },
    concurrency: 2
  },
  (b) => {
    const data = addDataStages(b)
    const train = { model: microModel, steps: 40, samplingRate: 0.05, clipNorm: 1, noiseMultiplier: 1, optimizer: { warmupSteps: 2, peakLr: 0.01 } }
    const audit = { delta: BUDGET.delta }
    const inputs = { sequences: data.pack.out.train_sequences, tokenizer: data.tokenizer.out.tokenizer }
    const dp = b.add("dp-audit", dpAudit, { config: { train, audit }, perf: { offThread: true }, inputs })
    const base = b.add("baseline-audit", baselineAudit, { config: { train, audit }, perf: { offThread: true }, inputs })
    const st = b.add("privacy-statement", privacyStatement, { config: { delta: BUDGET.delta, budgetEpsilon: BUDGET.epsilon }, inputs: { plan: dp.out.plan, model: dp.out.model } })
    b.add("audited-statement", auditedStatement, { inputs: { statement: st.out.statement, audit: dp.out.audit } })
    const rep = b.add("audit-report", auditReport, { inputs: { dp: dp.out.audit, nonPrivate: base.out.audit } })
    return { publish: { "audit.html": rep.out.report }, summary: rep.out.summary }
  }
)
