/**
 * Typed errors of the data loaders. Messages say what is wrong and how to fix it.
 */
import { Schema } from "effect"

/** An input file or folder does not exist. */
export class CorpusNotFoundError extends Schema.TaggedError<CorpusNotFoundError>()("CorpusNotFoundError", {
  path: Schema.String,
  message: Schema.String
}) {}

/** An input file exists but cannot be read or decoded as a whole. */
export class CorpusReadError extends Schema.TaggedError<CorpusReadError>()("CorpusReadError", {
  path: Schema.String,
  message: Schema.String
}) {}

/** A data configuration is invalid (unknown group, bad fraction, bad sequence length, ...). */
export class DataConfigError extends Schema.TaggedError<DataConfigError>()("DataConfigError", {
  message: Schema.String
}) {}
