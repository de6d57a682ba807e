/**
 * dpipe privacy accounting (issue 3, items 1-4): DP events, RDP and PLD accountants,
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
 * Errors (errors.ts): UnsupportedEventError, InvalidAccountingParameterError, CalibrationError.
 */
export * from "@dpipe/stages/accounting/events"
export * from "@dpipe/stages/accounting/errors"
export * from "@dpipe/stages/accounting/rdp"
export * from "@dpipe/stages/accounting/rdp-conversion"
export * from "@dpipe/stages/accounting/pld"
export * from "@dpipe/stages/accounting/pld-composition"
export * from "@dpipe/stages/accounting/chernoff"
export * from "@dpipe/stages/accounting/upper-convolution"
export * from "@dpipe/stages/accounting/pld-accountant"
export * from "@dpipe/stages/accounting/calibrate"
