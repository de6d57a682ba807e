/**
 * Errors of the dashboard (`pipeline ui`, README.md "The dashboard"). Each message says
 * what went wrong and what to do; the HTTP layer maps them to status codes.
 */
import { Schema } from "effect"

/** The server could not listen (port taken, address not on this machine). */
export class UiStartFailed extends Schema.TaggedError<UiStartFailed>()("UiStartFailed", {
  host: Schema.String,
  port: Schema.Number,
  message: Schema.String
}) {}

/** A run, stage or output named in a request does not exist (HTTP 404). */
export class UiNotFound extends Schema.TaggedError<UiNotFound>()("UiNotFound", {
  message: Schema.String
}) {}

/** Private content was asked for without the explicit reveal (HTTP 403). */
export class UiPrivateContent extends Schema.TaggedError<UiPrivateContent>()("UiPrivateContent", {
  message: Schema.String
}) {}

/** The store could not be read (HTTP 500). */
export class UiStoreUnreadable extends Schema.TaggedError<UiStoreUnreadable>()("UiStoreUnreadable", {
  path: Schema.String,
  message: Schema.String
}) {}

export type UiRequestError = UiNotFound | UiPrivateContent | UiStoreUnreadable
