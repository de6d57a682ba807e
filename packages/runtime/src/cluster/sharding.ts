/**
 * Effect Cluster over Postgres, as dpipe configures it for runners and coordinators.
 *
 * Runners listen on TCP (`NodeClusterSocket`, SQL message and runner storage); a
 * coordinator is a client only. Shard locks are rows (`shardLockDisableAdvisory`), so
 * a coordinator can see which runner owns a shard and place a stage on a chosen runner
 * (dispatcher.ts). A runner killed with SIGKILL loses its shards after SHARD_LOCK_SECONDS
 * (long enough that a runner whose event loop a stage holds for seconds keeps them), and
 * the unprocessed message of its stage is read by the runner that takes the shard over.
 */
import * as NodeClusterSocket from "@effect/platform-node/NodeClusterSocket"
import { Option } from "effect"
import { RunnerAddress } from "effect/cluster"

export const SHARD_LOCK_SECONDS = 30

const shardingConfig = {
  shardsPerGroup: 120,
  shardLockDisableAdvisory: true,
  // Effect Cluster times a lock refresh out after min(refresh, expiration / 3) and then
  // drops every shard of the runner (interrupting its stages): the refresh must survive
  // a stage holding the event loop, hence 10 s.
  shardLockRefreshInterval: "10 seconds",
  shardLockExpiration: `${SHARD_LOCK_SECONDS} seconds`,
  runnerHealthCheckInterval: "2 seconds",
  entityMessagePollInterval: "1 second",
  entityReplyPollInterval: "100 millis",
  entityTerminationTimeout: "20 seconds"
} as const

/** The cluster layer of a runner listening on host:port (needs the SqlClient). */
export const runnerClusterLayer = (host: string, port: number, listenHost: string) =>
  NodeClusterSocket.layer({
    storage: "sql",
    shardingConfig: {
      ...shardingConfig,
      runnerAddress: Option.some(RunnerAddress.make(host, port)),
      runnerListenAddress: Option.some(RunnerAddress.make(listenHost, port))
    }
  })

/** The cluster layer of a coordinator or `cluster status`: a client, no shards. */
export const clientClusterLayer = NodeClusterSocket.layer({ storage: "sql", clientOnly: true, shardingConfig })

