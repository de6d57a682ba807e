/**
 * The per-step metrics table of training. Loss, gradient norms and the clipped
 * fraction are computed from private data without noise (docs/privacy.md, P6), so the
 * table is labelled private; `epsilon` is a function of the public config only.
 * No wall-clock column: the table must be the same bytes for the same config, inputs
 * and store secret (README, "The run store"); throughput goes to the run's telemetry.
 */
import { Col, makeTable } from "@dpipe/dsl"

export const TrainMetrics = makeTable("train-metrics", {
  step: Col.int32,
  batch_size: Col.int32,
  padding: Col.int32,
  loss: Col.float64,
  grad_norm_mean: Col.float64,
  grad_norm_p50: Col.float64,
  grad_norm_p90: Col.float64,
  clipped_fraction: Col.float64,
  non_finite: Col.int32,
  lr: Col.float64,
  /** Epsilon spent after this step, by RDP at the pipeline's delta (NaN when RDP does not apply). */
  epsilon: Col.float64,
  /** The DP weights' loss on the stability guard's public probe after this step (NaN when unguarded). */
  probe_loss: Col.float64,
  /** 1 when the guard judged this step's probe loss a spike or a divergence. */
  spike: Col.int32,
  /** 1 when this step's divergence rolled training back to the last good checkpoint. */
  rollback: Col.int32,
  /** 1 when a later rollback discarded this step's update (it stays counted in the privacy ledger). */
  discarded: Col.int32
})
export type TrainMetricsRow = typeof TrainMetrics.row.Type
