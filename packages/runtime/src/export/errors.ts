/** Errors of `pipeline export`. Each message says what to do. */
import { Schema } from "effect"

/** A private artifact was about to leave the store without --private. */
export class ExportRefused extends Schema.TaggedError<ExportRefused>()("ExportRefused", {
  runId: Schema.String,
  node: Schema.String,
  message: Schema.String
}) {}

/** The export could not be made (bad request, missing artifact, damaged file, write failure). */
export class ExportFailed extends Schema.TaggedError<ExportFailed>()("ExportFailed", {
  message: Schema.String
}) {}
