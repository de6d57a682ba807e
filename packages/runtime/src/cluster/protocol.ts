/**
 * The cluster protocol: one Effect Cluster entity, `DpipeStage`, whose persisted
 * `Execute` message asks a runner to execute one stage of a run.
 *
 * Messages are persisted in Postgres (`ClusterSchema.Persisted`), so when the runner
 * that owns the entity's shard dies, the shard moves to another runner, which reads the
 * unprocessed message and executes the stage again (from its last checkpoint in the
 * shared store). The reply is the stage's cache manifest, as JSON: the coordinator
 * resolves the outputs in the shared store. Caching is dpipe's own (stage keys and the
 * content-addressed cache); the cluster only carries the request and the reply.
 */
import { Schema } from "effect"
import { ClusterSchema, Entity } from "effect/cluster"
import { Rpc } from "effect/rpc"

/** One input of a stage: its path relative to the store root and its content hash. */
export const JobInput = Schema.Struct({ path: Schema.String, hash: Schema.String })

/** What a runner needs to execute a stage: it re-plans the pipeline and checks the key. */
export const StageJob = Schema.Struct({
  /** The coordinator's store (store-id.ts): a runner of another store refuses. */
  storeId: Schema.String,
  runId: Schema.String,
  pipeline: Schema.String,
  scale: Schema.String,
  settings: Schema.Record(Schema.String, Schema.Unknown),
  node: Schema.String,
  key: Schema.String,
  /** The coordinator's code fingerprint of the stage: a runner with other code refuses. */
  code: Schema.String,
  /** The node's encoded config as canonical JSON: a runner that plans another refuses. */
  config: Schema.String,
  inputs: Schema.Record(Schema.String, JobInput),
  /** Capabilities the stage's perf flags ask for ("backend=tensorflow", "cores=4"). */
  requires: Schema.Array(Schema.String),
  checkpointKeep: Schema.Number
})
export type StageJob = typeof StageJob.Type

export class StageFailed extends Schema.TaggedError<StageFailed>()("StageFailed", {
  node: Schema.String,
  message: Schema.String,
  /** True when this runner cannot take the stage (another should): a capability it lacks. */
  redispatch: Schema.Boolean
}) {}

export const Execute = Rpc.make("Execute", {
  payload: { job: StageJob, attempt: Schema.String },
  success: Schema.String,
  error: StageFailed
})
  .annotate(ClusterSchema.Persisted, true)
  // A runner that shuts down (SIGTERM) interrupts the stage at once (it writes its
  // checkpoint); the message stays unprocessed and the next owner of the shard resumes it.
  .annotate(ClusterSchema.InterruptOnTermination, true)

export const DpipeStage = Entity.make("DpipeStage", [Execute])
