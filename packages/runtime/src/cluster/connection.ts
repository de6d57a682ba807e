/**
 * The cluster's Postgres: the connection layer for a --cluster URL, a reachability
 * check that names the URL (password hidden), and dpipe's two tables beside Effect
 * Cluster's own (`cluster_*`: messages, replies, runners, shard locks):
 *
 *   dpipe_runners        one row per runner: address, slots, capabilities, what it runs, heartbeat
 *   dpipe_stage_leases   one row per stage key being executed: the runner holding it, renewed
 *                        while it runs; a lease not renewed for LEASE_SECONDS is free
 */
import { PgClient } from "@effect/sql-pg"
import { Cause, Duration, Effect, Layer, Redacted } from "effect"
import { SqlClient } from "effect/sql"
import { ClusterError, ClusterUnreachable } from "./errors.ts"
import { messageOf } from "../errors.ts"

/** The URL with its password replaced by "***", for messages and logs. */
export const displayUrl = (url: string): string => {
  try {
    const u = new URL(url)
    if (u.password !== "") u.password = "***"
    return u.toString()
  } catch {
    return url.replace(/:[^:@/]*@/, ":***@")
  }
}

/**
 * A runner renews its row and its stages' leases every HEARTBEAT_SECONDS; one that has
 * not for LEASE_SECONDS is gone. Generous, because a stage's computation can hold a
 * runner's event loop for seconds (a training step on a loaded machine), and a runner
 * that only looks gone would lose its stage to another.
 */
export const HEARTBEAT_SECONDS = 2
export const LEASE_SECONDS = 30

const unreachable = (url: string, cause: unknown) =>
  new ClusterUnreachable({
    url: displayUrl(url),
    message: `cannot reach the cluster's Postgres at ${displayUrl(url)} (${messageOf(cause)}). ` +
      `Check that Postgres is running and accepts connections there (README, "Several machines"), or fix --cluster. Nothing was written to the store.`
  })

const failed = (e: ClusterUnreachable): Layer.Layer<SqlClient.SqlClient | PgClient.PgClient, ClusterUnreachable> =>
  Layer.unwrap(Effect.fail(e))

/** The SQL client of a cluster URL; fails with ClusterUnreachable when the server does not answer. */
export const sqlLayer = (url: string): Layer.Layer<SqlClient.SqlClient | PgClient.PgClient, ClusterUnreachable> => {
  if (!/^postgres(ql)?:\/\//.test(url)) {
    return failed(new ClusterUnreachable({ url, message: `--cluster ${url} is not a Postgres URL: give postgres://USER[:PASSWORD]@HOST:PORT/DATABASE` }))
  }
  const base = PgClient.layer({ url: Redacted.make(url), maxConnections: 8, connectTimeout: Duration.seconds(5) })
  const checked = Layer.effectDiscard(
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      yield* sql`SELECT 1`.pipe(Effect.timeoutOrElse({ duration: "6 seconds", orElse: () => Effect.fail(new Error("no answer within 6 s")) }))
      yield* ensureTables(sql)
    }).pipe(Effect.mapError((e) => unreachable(url, e)))
  )
  return Layer.provideMerge(checked, base).pipe(
    Layer.catchCause((cause) => {
      const e = Cause.squash(cause)
      return failed(e instanceof ClusterUnreachable ? e : unreachable(url, e))
    })
  )
}

const ensureTables = (sql: SqlClient.SqlClient) =>
  Effect.gen(function* () {
    // Two processes may create them at once; the second CREATE may fail on the catalog: retry once.
    const create = Effect.gen(function* () {
      yield* sql`CREATE TABLE IF NOT EXISTS dpipe_runners (
        address TEXT PRIMARY KEY,
        host TEXT NOT NULL,
        pid INTEGER NOT NULL,
        slots INTEGER NOT NULL,
        capabilities TEXT NOT NULL,
        running TEXT NOT NULL,
        store_id TEXT NOT NULL DEFAULT '',
        started_at TIMESTAMPTZ NOT NULL,
        heartbeat_at TIMESTAMPTZ NOT NULL
      )`
      yield* sql`ALTER TABLE dpipe_runners ADD COLUMN IF NOT EXISTS store_id TEXT NOT NULL DEFAULT ''`
      yield* sql`CREATE TABLE IF NOT EXISTS dpipe_stage_leases (
        stage_key TEXT PRIMARY KEY,
        run_id TEXT NOT NULL,
        node TEXT NOT NULL,
        address TEXT NOT NULL,
        renewed_at TIMESTAMPTZ NOT NULL
      )`
    })
    yield* create.pipe(Effect.retry({ times: 2 }))
  })

const isSqlError = (e: unknown): e is { readonly _tag: "SqlError"; readonly message: string } =>
  typeof e === "object" && e !== null && (e as { _tag?: unknown })._tag === "SqlError"

/** Runs `effect` holding a Postgres advisory lock named by `name` (released with its transaction). */
export const withAdvisoryLock = (name: string) => <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | ClusterError, R | SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    return yield* sql.withTransaction(
      Effect.gen(function* () {
        yield* sql`SELECT pg_advisory_xact_lock(hashtext(${name}))`
        return yield* effect
      })
    )
  }).pipe(Effect.mapError((e) => (isSqlError(e) ? new ClusterError({ message: `holding the cluster lock ${name}: ${e.message}` }) : (e as E))))
