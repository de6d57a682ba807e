/**
 * Typed accounting errors. Each message says what to change.
 */
import { Schema } from "effect"

/** The accountant has no analysis for this event (e.g. RDP for a truncated Poisson batch). */
export class UnsupportedEventError extends Schema.TaggedError<UnsupportedEventError>()("UnsupportedEventError", {
  accountant: Schema.Literals(["rdp", "pld"]),
  event: Schema.String,
  message: Schema.String
}) {}

/** A parameter is out of its domain (q outside [0,1], sigma < 0, delta outside (0,1), ...). */
export class InvalidAccountingParameterError extends Schema.TaggedError<InvalidAccountingParameterError>()(
  "InvalidAccountingParameterError",
  { parameter: Schema.String, value: Schema.Number, message: Schema.String }
) {}

/** Calibration found no value in its search range that meets the target. */
export class CalibrationError extends Schema.TaggedError<CalibrationError>()("CalibrationError", {
  accountant: Schema.Literals(["rdp", "pld"]),
  message: Schema.String
}) {}

export type AccountingError = UnsupportedEventError | InvalidAccountingParameterError | CalibrationError
