/** Errors of the cluster mode (runners, dispatch, `cluster status`). */
import { Schema } from "effect"

/** Postgres at the --cluster URL cannot be reached (or refuses the connection). */
export class ClusterUnreachable extends Schema.TaggedError<ClusterUnreachable>()("ClusterUnreachable", {
  url: Schema.String,
  message: Schema.String
}) {}

/** A cluster operation failed after the connection was made. */
export class ClusterError extends Schema.TaggedError<ClusterError>()("ClusterError", {
  message: Schema.String
}) {}
