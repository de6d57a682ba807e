/**
 * dpipe's runner registry and stage leases in the cluster's Postgres (connection.ts).
 *
 * A runner upserts its row every HEARTBEAT_SECONDS with the stages it executes; the
 * coordinator picks a runner from the live rows, `cluster status` prints them. A stage
 * lease makes sure one stage key is executed by one runner at a time, whatever the
 * cluster's message delivery does (a coordinator that resumes and sends the stage
 * again, a shard that moves while its old owner still runs): the holder renews it;
 * one that stops renewing for LEASE_SECONDS (killed, cut off) loses it.
 */
import { Effect, Schema } from "effect"
import { SqlClient } from "effect/sql"
import { LEASE_SECONDS } from "./connection.ts"
import { ClusterError } from "./errors.ts"

/** A stage a runner executes. */
export const RunningStage = Schema.Struct({ runId: Schema.String, node: Schema.String, key: Schema.String, since: Schema.String })
export type RunningStage = typeof RunningStage.Type

export interface RunnerRow {
  readonly address: string
  /** Which store the runner serves (storeId): a coordinator sends stages only to its own store's runners. */
  readonly storeId: string
  readonly host: string
  readonly pid: number
  readonly slots: number
  readonly capabilities: ReadonlyArray<string>
  readonly running: ReadonlyArray<RunningStage>
  readonly startedAt: string
  readonly heartbeatAgeSeconds: number
  readonly alive: boolean
}

const decodeRunning = Schema.decodeUnknownSync(Schema.fromJsonString(Schema.Array(RunningStage)))
const decodeCaps = Schema.decodeUnknownSync(Schema.fromJsonString(Schema.Array(Schema.String)))

const sqlFailure = (what: string) => (e: { readonly message: string }) => new ClusterError({ message: `${what}: ${e.message}` })

export const upsertRunner = (row: { readonly address: string; readonly storeId: string; readonly host: string; readonly pid: number; readonly slots: number; readonly capabilities: ReadonlyArray<string>; readonly running: ReadonlyArray<RunningStage>; readonly startedAt: string }) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    yield* sql`INSERT INTO dpipe_runners (address, store_id, host, pid, slots, capabilities, running, started_at, heartbeat_at)
      VALUES (${row.address}, ${row.storeId}, ${row.host}, ${row.pid}, ${row.slots}, ${JSON.stringify(row.capabilities)}, ${JSON.stringify(row.running)}, ${row.startedAt}, NOW())
      ON CONFLICT (address) DO UPDATE SET store_id = EXCLUDED.store_id, host = EXCLUDED.host, pid = EXCLUDED.pid, slots = EXCLUDED.slots,
        capabilities = EXCLUDED.capabilities, running = EXCLUDED.running, started_at = EXCLUDED.started_at, heartbeat_at = NOW()`
  }).pipe(Effect.mapError(sqlFailure("registering the runner")))

export const removeRunner = (address: string) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    yield* sql`DELETE FROM dpipe_runners WHERE address = ${address}`
    yield* sql`DELETE FROM dpipe_stage_leases WHERE address = ${address}`
  }).pipe(Effect.mapError(sqlFailure("unregistering the runner")))

interface RawRunner {
  readonly address: string
  readonly store_id: string
  readonly host: string
  readonly pid: number
  readonly slots: number
  readonly capabilities: string
  readonly running: string
  readonly started_at: Date | string
  readonly age: number | string
}

/** Every registered runner, newest heartbeat first; `alive` when its heartbeat is recent. */
export const listRunners = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const rows = yield* sql<RawRunner>`SELECT address, store_id, host, pid, slots, capabilities, running, started_at,
      EXTRACT(EPOCH FROM (NOW() - heartbeat_at))::float8 AS age FROM dpipe_runners ORDER BY address`
  return rows.map((r): RunnerRow => {
    const age = Number(r.age)
    return {
      address: r.address,
      storeId: r.store_id,
      host: r.host,
      pid: Number(r.pid),
      slots: Number(r.slots),
      capabilities: decodeCaps(r.capabilities),
      running: decodeRunning(r.running),
      startedAt: r.started_at instanceof Date ? r.started_at.toISOString() : String(r.started_at),
      heartbeatAgeSeconds: age,
      alive: age < LEASE_SECONDS
    }
  })
}).pipe(Effect.mapError(sqlFailure("reading the runner registry")))

/** Takes or renews the lease of a stage key; true when this runner holds it. */
export const takeLease = (key: string, runId: string, node: string, address: string) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const seconds = sql.literal(String(LEASE_SECONDS))
    const rows = yield* sql<{ readonly address: string }>`INSERT INTO dpipe_stage_leases (stage_key, run_id, node, address, renewed_at)
      VALUES (${key}, ${runId}, ${node}, ${address}, NOW())
      ON CONFLICT (stage_key) DO UPDATE SET run_id = EXCLUDED.run_id, node = EXCLUDED.node, address = EXCLUDED.address, renewed_at = NOW()
      WHERE dpipe_stage_leases.address = EXCLUDED.address OR dpipe_stage_leases.renewed_at < NOW() - INTERVAL '${seconds} seconds'
      RETURNING address`
    return rows.length === 1
  }).pipe(Effect.mapError(sqlFailure(`taking the lease of stage ${node}`)))

/** The runner holding a stage key's lease, if any is live. */
export const leaseHolder = (key: string) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const seconds = sql.literal(String(LEASE_SECONDS))
    const rows = yield* sql<{ readonly address: string }>`SELECT address FROM dpipe_stage_leases
      WHERE stage_key = ${key} AND renewed_at >= NOW() - INTERVAL '${seconds} seconds'`
    return rows[0]?.address
  }).pipe(Effect.mapError(sqlFailure("reading a stage lease")))

export const releaseLease = (key: string, address: string) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    yield* sql`DELETE FROM dpipe_stage_leases WHERE stage_key = ${key} AND address = ${address}`
  }).pipe(Effect.mapError(sqlFailure("releasing a stage lease")))

/**
 * Which runner holds each shard (Effect Cluster's lock table, kept in rows because the
 * runners run with `shardLockDisableAdvisory`): shard id ("default:17") -> address.
 */
export const shardOwners = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const rows = yield* sql<{ readonly shard_id: string; readonly address: string }>`SELECT shard_id, address FROM cluster_locks`
  return new Map(rows.map((r) => [r.shard_id, r.address]))
}).pipe(
  // Before the first runner has started, the table does not exist yet.
  Effect.catch(() => Effect.succeed(new Map<string, string>()))
)
