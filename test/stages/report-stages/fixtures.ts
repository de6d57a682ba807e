/** Synthetic inputs for the report-stage tests: plans, metrics, evaluation, memorization. */
import { poissonSampledGaussian, selfComposed, truncatedPoissonSampledGaussian } from "@dpipe/accounting/events"
import type { Evaluation, Memorization } from "@dpipe/stages/eval-stages/tables"
import { statementText, type PrivacyStatement } from "@dpipe/stages/report-stages/index"
import type { ExecutionPlan } from "@dpipe/stages/training-stages/config"
import type { TrainMetricsRow } from "@dpipe/stages/training-stages/tables"

/** A Poisson DP plan of `steps` steps at rate q, sigma, C = 1, N sequences. */
export const poissonPlan = (opts: { q?: number; sigma?: number; steps?: number; stepsDone?: number; N?: number } = {}): ExecutionPlan => {
  const q = opts.q ?? 0.02
  const sigma = opts.sigma ?? 1.0
  const N = opts.N ?? 1000
  const steps = opts.steps ?? 40
  const stepsDone = opts.stepsDone ?? steps
  return {
    unit: "sequence",
    sampler: "poisson",
    samplingRate: q,
    datasetSize: N,
    expectedBatchSize: q * N,
    clipNorm: 1,
    noiseMultiplier: sigma,
    noiseStd: sigma,
    neighbouring: "add_remove",
    steps,
    stepsDone,
    event: selfComposed(poissonSampledGaussian(q, sigma, "add_remove"), stepsDone)
  }
}

/** A truncated-Poisson DP plan (PLD only). */
export const truncatedPlan = (opts: { q?: number; sigma?: number; steps?: number; N?: number; cap?: number } = {}): ExecutionPlan => {
  const q = opts.q ?? 0.02
  const sigma = opts.sigma ?? 1.0
  const N = opts.N ?? 500
  const cap = opts.cap ?? 20
  const steps = opts.steps ?? 10
  return {
    unit: "sequence",
    sampler: "truncated-poisson",
    samplingRate: q,
    batchCap: cap,
    datasetSize: N,
    expectedBatchSize: q * N,
    clipNorm: 0.5,
    noiseMultiplier: sigma,
    noiseStd: sigma * 0.5,
    neighbouring: "add_remove",
    steps,
    stepsDone: steps,
    event: selfComposed(truncatedPoissonSampledGaussian({ datasetSize: N, batchCap: cap, samplingRate: q, noiseMultiplier: sigma }), steps)
  }
}

/** Metrics rows with a decaying loss; `epsilon` NaN when `noEpsilon`. */
export const metricsRows = (steps: number, opts: { start?: number; end?: number; noEpsilon?: boolean; epsilonAtEnd?: number } = {}): Array<TrainMetricsRow> =>
  Array.from({ length: steps }, (_, i) => {
    const t = steps === 1 ? 1 : i / (steps - 1)
    const start = opts.start ?? 5.5
    const end = opts.end ?? 3.2
    return {
      step: i,
      batch_size: 20,
      padding: 0,
      loss: start + (end - start) * Math.sqrt(t),
      grad_norm_mean: 2,
      grad_norm_p50: 2,
      grad_norm_p90: 3,
      clipped_fraction: 0.95 - 0.3 * t,
      non_finite: 0,
      lr: 3e-3,
      epsilon: opts.noEpsilon === true ? Number.NaN : (opts.epsilonAtEnd ?? 2) * Math.sqrt((i + 1) / steps),
      probe_loss: Number.NaN,
      spike: 0,
      rollback: 0,
      discarded: 0
    }
  })

/** Hostile strings, as e-mail-derived text could contain. */
export const HOSTILE = {
  secret: `<script>window.__pwned = 1</script>"'&`,
  id: `"><img src=x onerror="window.__pwned=2">`,
  set: `</table><svg onload="window.__pwned=3">`,
  title: `run <b>bold</b> & "quoted"`
} as const

const model = (description: string, meanLoss: number, bitsPerByte: number, modelLabel: "dp" | "private") => ({
  description,
  modelLabel,
  meanLoss,
  perplexity: Math.exp(meanLoss),
  bitsPerToken: meanLoss / Math.LN2,
  bitsPerByte,
  totalNats: meanLoss * 5000,
  tokens: 5000,
  bytes: 14000
})

/** An evaluate-stage output (eval-stages/tables.ts shape). */
export const evaluation: Evaluation = {
  label: "private",
  note: `held-out users only ${HOSTILE.id}`,
  sequences: 40,
  availableSequences: 40,
  seqLen: 128,
  scoring: "every non-pad target position",
  models: {
    dp: model(`DP-SGD model ${HOSTILE.secret}`, 4.1, 2.05, "dp"),
    nonPrivate: model("non-private baseline", 3.4, 1.7, "private"),
    unigram: model("add-one unigram", 5.3, 2.65, "private")
  },
  unigram: { smoothing: "add-one", trainTokens: 100000, vocabSize: 300 }
}

const group = (repeats: number, dp: number, np: number) => ({
  dp: { repeats, canaries: 2, meanExposure: dp, maxExposure: dp + 0.5, meanExposureNormalFit: dp + 1, meanRank: 40, secretsExtracted: 0 },
  np: { repeats, canaries: 2, meanExposure: np, maxExposure: Math.min(6.66, np + 0.5), meanExposureNormalFit: np + 3, meanRank: 3, secretsExtracted: repeats > 4 ? 1 : 0 }
})
const groups = [group(1, 0.8, 2.1), group(4, 1.2, 5.9), group(16, 1.9, 6.6)]
const counts = (attempts: number, exact: number, approximate: number) => ({ attempts, exact, approximate, exactRate: exact / attempts, approximateRate: approximate / attempts })

/** A memorization-stage output (eval-stages/tables.ts shape). */
export const memorization: Memorization = {
  label: "private",
  note: `note ${HOSTILE.set}`,
  canaries: {
    count: 6,
    candidates: 100,
    secretSpaceSize: 1e12,
    maxMeasurableExposure: Math.log2(101),
    log2SecretSpace: Math.log2(1e12),
    estimator: `rank ${HOSTILE.secret}`,
    models: {
      dp: { meanExposure: (0.8 + 1.2 + 1.9) / 3, byRepeats: groups.map((g) => g.dp) },
      nonPrivate: { meanExposure: (2.1 + 5.9 + 6.6) / 3, byRepeats: groups.map((g) => g.np) }
    }
  },
  extraction: {
    prefixTokens: 64,
    suffixTokens: 63,
    editThreshold: 0.1,
    method: `greedy ${HOSTILE.id}`,
    sampled: { sequences: 64, models: { dp: counts(64, 0, 1), nonPrivate: counts(64, 2, 5) } },
    duplicated: { sequences: 20, canarySequences: 12, repeatedSequences: 8, models: { dp: counts(20, 1, 2), nonPrivate: counts(20, 9, 12) } },
    canarySecrets: { attempts: 6, method: "greedy from a training context", models: { dp: counts(6, 0, 0), nonPrivate: counts(6, 2, 2) } }
  }
}

/**
 * A statement with fixed accountant figures (for rendering tests that should not depend
 * on the accountants; the statement tests check the figures themselves).
 */
export const fixedStatement = (over: { epsilon?: number; rdp?: PrivacyStatement["rdp"]; steps?: number } = {}): PrivacyStatement => {
  const plan = poissonPlan({ q: 0.05, sigma: 2, steps: over.steps ?? 12 })
  const epsilon = over.epsilon ?? 0.4142302724
  const body: Omit<PrivacyStatement, "text"> = {
    unit: "sequence",
    sequenceTokens: 128,
    neighbouring: "add_remove",
    sampling: { method: "poisson", samplingRate: plan.samplingRate, expectedBatchSize: plan.expectedBatchSize!, datasetSize: plan.datasetSize! },
    noiseMultiplier: plan.noiseMultiplier,
    clipNorm: plan.clipNorm,
    noiseStd: plan.noiseStd,
    steps: plan.stepsDone,
    plannedSteps: plan.steps,
    delta: 1e-5,
    epsilon,
    accountant: "pld",
    pld: { epsilon },
    rdp: over.rdp ?? { _tag: "Computed", epsilon: 0.504, order: 22 },
    event: plan.event
  }
  return { ...body, text: statementText(body) }
}
