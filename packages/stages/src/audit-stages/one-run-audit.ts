/**
 * The one-run privacy audit stages (Steinke, Nasr and Jagielski 2023, "Privacy Auditing with
 * One (1) Training Run", NeurIPS 2023): `dp-audit` trains once with DP-SGD, `baseline-audit`
 * once without clipping or noise, each with m white-box gradient canaries
 * (engine/dp/audit-canaries.ts: a Dirac gradient of norm C on a random coordinate, included
 * in the training set with probability 1/2, Poisson-sampled at q like every example), and
 * turn the canaries' scores into a lower bound on epsilon (accounting/audit-bound.ts).
 *
 * Why white-box gradient canaries: at these scales input-space canaries (a sentence inserted
 * into the data, scored by the final model's loss) barely move a DP model, and the bound
 * they give is 0. The white-box auditor sees every step's privatized gradient, the release
 * DP-SGD's accounting covers, so a bound above the accountant's epsilon would expose a bug
 * in the mechanism or the accountant (docs/privacy.md, P13).
 *
 * Guesses: "in" for the `kPlus` highest scores, "out" for the `kMinus` lowest, fixed in the
 * config before any score is seen. The audited run is not the pipeline's dp-train run: it
 * trains its own model on the same data (same config shape), so `dp-audit` is a DP mechanism
 * of its own and records its spend (the full training event, before its first step: a crash
 * never loses spend). Its output is the audit (dp: post-processing of the accounted release
 * and of the canaries' secret coins) and an execution plan the privacy statement can state;
 * the baseline's audit is private (its model is).
 */
import { Effect, Result, Schema } from "effect"
import { Artifact, PrivacyLedger, Progress, Stage, StageFailed } from "@dpipe/dsl"
import { oneRunAudit } from "@dpipe/accounting/audit-bound"
import { pldEpsilon } from "@dpipe/accounting/pld-accountant"
import { tokenizerFromJson } from "@dpipe/data/tokenizer/hf-json"
import { decodeModelConfig, ModelConfig, paramLayout } from "@dpipe/engine/model/gemma"
import { CanaryAuditor, planAuditCanaries } from "@dpipe/engine/dp/audit-canaries"
import { poissonBatch } from "@dpipe/engine/sampling/poisson"
import { Trainer } from "@dpipe/engine/train/loop"
import { Sequences } from "@dpipe/stages/data-stages/tables"
import { ExecutionPlan, TrainConfig, TrainPerf, trainingEvent } from "@dpipe/stages/training-stages/config"
import { PrivacyAudit, PrivacyStatement } from "@dpipe/stages/report-stages/schemas"
import { formatDelta, formatEpsilon } from "@dpipe/stages/report-stages/statement"
import { loadSequences } from "@dpipe/stages/training-stages/dataset"

const withDefault = <S extends Schema.Top & { readonly Encoded: unknown }>(value: S["Encoded"]) => (s: S) => s.pipe(Schema.withDecodingDefaultKey(Effect.succeed(value)))
const NonNegativeInt = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))

export const AuditSettings = Schema.Struct({
  /** Canaries m, each in the training set with probability 1/2. */
  canaries: Schema.Int.check(Schema.isGreaterThanOrEqualTo(2)).pipe(withDefault(1000)),
  /** Guesses "in": the kPlus highest scores. */
  kPlus: NonNegativeInt.pipe(withDefault(100)),
  /** Guesses "out": the kMinus lowest scores. */
  kMinus: NonNegativeInt.pipe(withDefault(0)),
  /** Confidence of the lower bound (0.95: it is wrong with probability at most 5%). */
  confidence: Schema.Finite.check(Schema.isGreaterThan(0), Schema.isLessThan(1)).pipe(withDefault(0.95)),
  /** The delta of both bounds (the pipeline's budget delta). */
  delta: Schema.Finite.check(Schema.isGreaterThan(0), Schema.isLessThan(1)).pipe(withDefault(1e-6))
}).check(
  Schema.makeFilter((a) =>
    a.kPlus + a.kMinus <= a.canaries && a.kPlus + a.kMinus > 0
      ? undefined
      : { path: ["kPlus"], issue: `kPlus + kMinus (${a.kPlus} + ${a.kMinus}) must be between 1 and the ${a.canaries} canaries` }
  )
)
export type AuditSettings = typeof AuditSettings.Type

export const AuditConfig = Schema.Struct({
  /** The audited training run (the dp-train stage's config). */
  train: TrainConfig,
  audit: AuditSettings.pipe(withDefault({}))
})
export type AuditConfig = typeof AuditConfig.Type

const fail = (message: string) => new StageFailed({ message })

const CANARY = "a Dirac gradient of norm C on one random parameter coordinate, Poisson-sampled at the run's rate q"

/** The sentence the statement and the report give an audit. */
export const auditText = (a: Omit<PrivacyAudit, "text">): string => {
  const guesses = `${a.correct} of ${a.guessesIn + a.guessesOut} membership guesses on ${a.canaries} canaries were right`
  const bound = `the run is not (epsilon, ${formatDelta(a.delta)})-DP for any epsilon below ${formatEpsilon(a.epsilonLowerBound)} (confidence ${Number((100 * a.confidence).toFixed(2))}%)`
  const upper =
    a.epsilonUpperBound === null
      ? "The audited run was the non-private baseline: no accountant bounds it."
      : `The accountant's upper bound for the same run is epsilon = ${formatEpsilon(a.epsilonUpperBound)}; the gap between the two is what this audit cannot tell apart.`
  return `One-run privacy audit (${a.setting}; each canary is ${a.canary}): ${guesses}, so ${bound}. ${upper}`
}

/** A statement with the audit beside its epsilon (and a sentence appended to its text). */
export const withAudit = (statement: PrivacyStatement, audit: PrivacyAudit): Result.Result<PrivacyStatement, string> => {
  if (audit.training !== "dp" || audit.epsilonUpperBound === null) return Result.fail("the statement takes the audit of the DP run (dp-audit), not of the non-private baseline")
  if (audit.delta !== statement.delta) return Result.fail(`the audit is at delta ${formatDelta(audit.delta)} but the statement at ${formatDelta(statement.delta)}: set the audit's delta to the statement's`)
  return Result.succeed({ ...statement, audit, text: `${statement.text} ${audit.text}` })
}

const makeAuditStage = (mode: "dp" | "non-private") =>
  Stage.make({
    name: mode === "dp" ? "dp-audit" : "baseline-audit",
    version: "1",
    description:
      mode === "dp"
        ? "One-run privacy audit of DP-SGD: trains once with white-box gradient canaries and bounds epsilon from below."
        : "One-run privacy audit of the non-private baseline (the same canaries and training without clipping or noise).",
    config: AuditConfig,
    perf: TrainPerf,
    inputs: { sequences: Artifact.table(Sequences), tokenizer: Artifact.file("tokenizer", "json") },
    outputs: {
      audit: Artifact.json("privacy-audit", PrivacyAudit, { description: "canaries, guesses, the epsilon lower bound and the accountant's upper bound" }),
      plan: Artifact.json("execution-plan", ExecutionPlan),
      model: Artifact.json("model-config", ModelConfig)
    },
    ...(mode === "dp" ? { mechanism: { predict: (c: AuditConfig) => [trainingEvent(c.train)] } } : {}),
    run: ({ config, perf, inputs, stageKey, secretKey }) =>
      Effect.gen(function* () {
        const progress = yield* Progress
        const ledger = yield* PrivacyLedger
        const c = config.train
        const tokenizer = yield* Effect.try({
          try: () => tokenizerFromJson(new TextDecoder().decode(inputs.tokenizer)),
          catch: (e) => fail(`the tokenizer input is not a valid tokenizer.json: ${String(e)}`)
        })
        if (c.batchCap !== undefined) return yield* fail("the audit samples canaries by plain Poisson sampling: unset train.batchCap")
        const { tokens, seqLen, count: N } = yield* loadSequences(inputs.sequences)
        const model = yield* Effect.try({
          try: () => decodeModelConfig({ ...c.model, vocabSize: tokenizer.vocabSize, contextLength: seqLen - 1 }),
          catch: (e) => fail(`invalid model shape: ${String(e)}`)
        })
        const parameterCount = paramLayout(model).reduce((a, s) => a + s.size, 0)
        const auditKey = secretKey("audit")
        const plan = yield* Effect.try({
          try: () => planAuditCanaries(auditKey, config.audit.canaries, parameterCount),
          catch: (e) => fail(String(e instanceof Error ? e.message : e))
        })
        const auditor = new CanaryAuditor(plan, auditKey, c.samplingRate, c.clipNorm)
        const expectedBatchSize = c.samplingRate * (c.datasetSize ?? N)
        const event = trainingEvent(c)
        const ledgerId = `${stageKey}/dp-audit`
        if (mode === "dp") {
          const check = yield* ledger.check({ id: ledgerId, event })
          if (!check.withinBudget) return yield* fail(`the audit's training would spend epsilon ${check.epsilon.toFixed(3)} > budget ${check.budgetEpsilon}: lower its steps or raise its noise`)
          // The whole run's event, before the first step: a crash can only over-count.
          yield* ledger.record({ id: ledgerId, event, steps: c.steps })
        }
        const samplerKey = secretKey("sampler")
        const trainer = yield* Effect.acquireRelease(
          Effect.tryPromise({
            try: () =>
              Trainer.create({
                model,
                optimizer: { ...c.optimizer, totalSteps: c.steps, warmupSteps: Math.min(c.optimizer.warmupSteps, c.steps) },
                dp: mode === "dp" ? { clipNorm: c.clipNorm, noiseMultiplier: c.noiseMultiplier, expectedBatchSize, noiseKey: secretKey("noise") } : null,
                dataset: { tokens, seqLen, count: N },
                backend: perf.backend,
                workers: perf.workers,
                offThread: perf.offThread,
                microBatchSize: perf.microBatchSize,
                initSeed: c.initSeed,
                selectBatch: (step) => ({ indices: Int32Array.from(poissonBatch(samplerKey, step, N, c.samplingRate)) }),
                addToSum: auditor.addToSum,
                inspectGradient: auditor.observe
              }),
            catch: (e) => fail(`starting the trainer: ${String(e instanceof Error ? e.message : e)}`)
          }),
          (t) => Effect.promise(() => t.close())
        )
        yield* progress.info(`${mode === "dp" ? "DP-SGD" : "non-private"} audit run: ${N} sequences, ${config.audit.canaries} gradient canaries, ${c.steps} steps`)
        while (trainer.step < c.steps) {
          const m = yield* Effect.tryPromise({ try: () => trainer.trainStep(), catch: (e) => fail(`training step ${trainer.step}: ${String(e instanceof Error ? e.message : e)}`) })
          yield* progress.update(m.step + 1, c.steps, { loss: Number(m.loss.toFixed(4)) })
        }
        const a = config.audit
        const result = yield* Effect.try({
          // The spike of one sampled canary: C / (q N) in both runs. In the DP run it is taken
          // as tau / sigma (tau ~ sigma C / (q N)), a function of the release alone, so that the
          // dp-labelled audit does not depend on the private N (docs/privacy.md, P11).
          try: () => oneRunAudit({ scores: auditor.likelihoodScores((tau) => (mode === "dp" ? tau / c.noiseMultiplier : c.clipNorm / expectedBatchSize)), included: plan.included, kPlus: a.kPlus, kMinus: a.kMinus, delta: a.delta, beta: 1 - a.confidence }),
          catch: (e) => fail(`the audit bound: ${String(e instanceof Error ? e.message : e)}`)
        })
        let upper: number | null = null
        if (mode === "dp") {
          const p = pldEpsilon(event, a.delta)
          if (Result.isFailure(p)) return yield* fail(`the PLD accountant cannot account the audited run: ${p.failure.message}`)
          upper = p.success.epsilon
        }
        const body: Omit<PrivacyAudit, "text"> = {
          method: "one-run",
          setting: "white-box",
          canary: CANARY,
          training: mode,
          canaries: result.canaries,
          included: result.included,
          guessesIn: result.guessesIn,
          guessesOut: result.guessesOut,
          correct: result.correct,
          confidence: result.confidence,
          delta: a.delta,
          epsilonLowerBound: result.epsilonLowerBound,
          epsilonUpperBound: upper
        }
        const executionPlan: ExecutionPlan = {
          unit: "sequence",
          sampler: "poisson",
          samplingRate: c.samplingRate,
          ...(c.datasetSize !== undefined ? { datasetSize: c.datasetSize, expectedBatchSize } : {}),
          normaliser: c.datasetSize !== undefined ? "public-n" : "actual-n",
          clipNorm: mode === "dp" ? c.clipNorm : Number.POSITIVE_INFINITY,
          noiseMultiplier: mode === "dp" ? c.noiseMultiplier : 0,
          noiseStd: mode === "dp" ? c.noiseMultiplier * c.clipNorm : 0,
          neighbouring: c.neighbouring,
          steps: c.steps,
          stepsDone: trainer.step,
          event: mode === "dp" ? event : null
        }
        yield* progress.info(`audit: ${result.correct}/${a.kPlus + a.kMinus} guesses right; epsilon lower bound ${formatEpsilon(result.epsilonLowerBound)}${upper === null ? "" : `, accountant ${formatEpsilon(upper)}`}`)
        return { audit: { ...body, text: auditText(body) }, plan: executionPlan, model }
      }).pipe(Effect.scoped)
  })

export const dpAudit = makeAuditStage("dp")
export const baselineAudit = makeAuditStage("non-private")

/** `audited-statement`: the privacy statement with the DP run's audit beside its epsilon. */
export const auditedStatement = Stage.make({
  name: "audited-statement",
  version: "1",
  description: "Adds a one-run audit's lower bound to the privacy statement of the same run.",
  config: Schema.Struct({}),
  inputs: {
    statement: Artifact.json("privacy-statement", PrivacyStatement),
    audit: Artifact.json("privacy-audit", PrivacyAudit)
  },
  outputs: { statement: Artifact.json("privacy-statement", PrivacyStatement) },
  run: ({ inputs }) =>
    Effect.gen(function* () {
      const r = withAudit(inputs.statement, inputs.audit)
      if (Result.isFailure(r)) return yield* fail(`audited-statement: ${r.failure}`)
      return { statement: r.success }
    })
})
