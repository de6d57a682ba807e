/**
 * @dpipe/accounting: DP events, RDP and PLD accountants,
 * calibration. Pure, synchronous math; failures are typed values (effect's Result), never
 * thrown across this boundary.
 *
 * Events (events.ts) - Effect Schemas, JSON-serializable for the ledger:
 *   gaussian(sigma, neighbouring?) | poissonSampledGaussian(q, sigma, neighbouring?)
 *   truncatedPoissonSampledGaussian({ datasetSize, batchCap, samplingRate, noiseMultiplier, neighbouring? })
 *   selfComposed(event, count) | composed(events);  DpEvent schema, DpEventFromJson, flattenEvent
 *
 * RDP (rdp.ts, rdp-conversion.ts):
 *   rdpOfEvent(event, { orders?, fractionalSeries? }): Result<Float64Array, UnsupportedEventError>
 *   rdpPoissonSubsampledGaussian(q, sigma, orders?, series?): Float64Array
 *   epsilonFromRdp(orders, rdp, delta, "improved" | "classic"): { epsilon, order }
 *   deltaFromRdp(orders, rdp, epsilon, "improved" | "classic"): { delta, order }
 *   DEFAULT_RDP_ORDERS
 *
 * PLD (pld.ts, pld-composition.ts, pld-accountant.ts; fft.ts, upper-convolution.ts, chernoff.ts
 * underneath). The PLD epsilon is a guaranteed upper bound, floating-point rounding included:
 *   pldEpsilon(event, delta, { valueDiscretization?, tailMass? }): Result<{ epsilon, stats }, UnsupportedEventError>
 *   pldDelta(event, epsilon, options?): Result<{ delta, stats }, UnsupportedEventError>
 *   pldOfEvent(event, options?) -> composed PldPair; pairDelta / pairEpsilon; composePlds; connectTheDots
 *
 * Calibration (calibrate.ts):
 *   calibrateNoiseMultiplier({ accountant, mechanism: { samplingRate, datasetSize?, batchCap? }, steps, epsilon, delta, relTol? })
 *     : Result<{ noiseMultiplier, epsilon }, CalibrationError | UnsupportedEventError | InvalidAccountingParameterError>
 *   calibrateSteps({ accountant, mechanism, noiseMultiplier, epsilon, delta, maxSteps? }): Result<{ steps, epsilon }, ...>
 *   epsilonOf(accountant, event, delta, options?): Result<number, UnsupportedEventError>
 *
 * Private hyperparameter selection (hyperparameter-selection.ts; Papernot and Steinke 2022):
 *   selectionRdp(orders, trialRdp, TrialCount): RDP of releasing the best of K runs, K truncated
 *   negative binomial / Poisson / fixed; expectedTrials, sampleTrialCount (inverse CDF of a uniform)
 *
 * One-run auditing (audit-bound.ts; Steinke, Nasr and Jagielski 2023):
 *   oneRunPValue(m, r, v, eps, delta), oneRunEpsilonLowerBound(m, r, v, delta, beta),
 *   oneRunAudit({ scores, included, kPlus, kMinus, delta, beta })
 *
 * Errors (errors.ts): UnsupportedEventError, InvalidAccountingParameterError, CalibrationError.
 */
export * from "@dpipe/accounting/events"
export * from "@dpipe/accounting/errors"
export * from "@dpipe/accounting/rdp"
export * from "@dpipe/accounting/rdp-conversion"
export * from "@dpipe/accounting/pld"
export * from "@dpipe/accounting/pld-composition"
export * from "@dpipe/accounting/chernoff"
export * from "@dpipe/accounting/upper-convolution"
export * from "@dpipe/accounting/pld-accountant"
export * from "@dpipe/accounting/calibrate"
export * from "@dpipe/accounting/hyperparameter-selection"
export * from "@dpipe/accounting/audit-bound"
