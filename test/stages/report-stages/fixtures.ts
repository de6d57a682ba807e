/** Synthetic inputs for the report-stage tests: plans, metrics, evaluation, memorization. */
import { poissonSampledGaussian, selfComposed, truncatedPoissonSampledGaussian } from "@dpipe/stages/accounting/events"
import type { Evaluation, Memorization } from "@dpipe/stages/report-stages/index"
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
      tokens_per_sec: 1000
    }
  })

export const evaluation: Evaluation = {
  dp: { loss: 4.1, perplexity: Math.exp(4.1), bitsPerByte: 2.05, tokens: 5000, bytes: 14000 },
  nonPrivate: { loss: 3.4, perplexity: Math.exp(3.4), bitsPerByte: 1.7, tokens: 5000, bytes: 14000 },
  unigram: { loss: 5.3, perplexity: Math.exp(5.3), bitsPerByte: 2.65, tokens: 5000, bytes: 14000 }
}

/** Hostile strings, as e-mail-derived text could contain. */
export const HOSTILE = {
  secret: `<script>window.__pwned = 1</script>"'&`,
  id: `"><img src=x onerror="window.__pwned=2">`,
  set: `</table><svg onload="window.__pwned=3">`,
  title: `run <b>bold</b> & "quoted"`
} as const

export const memorization: Memorization = {
  maxExposure: 13.3,
  canaries: [
    { id: "canary-0", repetitions: 1, secret: "my pin is 4821", dp: 0.8, nonPrivate: 2.1 },
    { id: HOSTILE.id, repetitions: 4, secret: HOSTILE.secret, dp: 1.2, nonPrivate: 7.9 },
    { id: "canary-2", repetitions: 16, secret: "ssn 078-05-1120", dp: 1.9, nonPrivate: 12.6 }
  ],
  byRepetition: [
    { repetitions: 1, canaries: 1, dp: 0.8, nonPrivate: 2.1 },
    { repetitions: 4, canaries: 1, dp: 1.2, nonPrivate: 7.9 },
    { repetitions: 16, canaries: 1, dp: 1.9, nonPrivate: 12.6 }
  ],
  extraction: [
    { set: "training", prefixTokens: 16, suffixTokens: 16, dp: { samples: 100, exact: 0, approximate: 0.01 }, nonPrivate: { samples: 100, exact: 0.03, approximate: 0.08 } },
    { set: HOSTILE.set, dp: { samples: 50, exact: 0.02, approximate: 0.04 }, nonPrivate: { samples: 50, exact: 0.3, approximate: 0.42 } }
  ]
}
