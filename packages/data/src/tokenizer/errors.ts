/**
 * Typed errors of the tokenizer modules.
 */
import { Schema } from "effect"

/** The tokenizer configuration is invalid (e.g. a vocabulary too small for the byte alphabet). */
export class TokenizerConfigError extends Schema.TaggedError<TokenizerConfigError>()("TokenizerConfigError", {
  message: Schema.String
}) {}

/** A tokenizer.json could not be read as a byte-level BPE tokenizer. */
export class TokenizerFormatError extends Schema.TaggedError<TokenizerFormatError>()("TokenizerFormatError", {
  message: Schema.String
}) {}
