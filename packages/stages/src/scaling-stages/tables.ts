/**
 * Tables and JSON artifacts of the scaling-law stages. One row of `SweepObservations` is
 * one observation of the sweep (McKenna et al. 2025 read every logged step T of one run
 * as an observation): the run's model, parameter count, learning rate, noise-batch ratio,
 * the step and the held-out loss there. Public: the sweep trains on public data only.
 */
import { Col, makeTable } from "@dpipe/dsl"

export const SweepObservations = makeTable("sweep-observations", {
  model: Col.utf8,
  /** Parameter count M (embeddings included), as in C = 6 M B S T. */
  params: Col.int64,
  learning_rate: Col.float64,
  /** sigma-bar: noise std on the mean gradient (0: clipped, no noise). */
  noise_batch_ratio: Col.float64,
  /** The fixed physical batch b of the run. */
  batch_size: Col.int32,
  /** Completed steps T at this observation. */
  step: Col.int32,
  /** Held-out cross-entropy (nats/token) on the fixed eval set after `step` steps. */
  loss: Col.float64,
  /** Mean training loss over the steps since the previous observation (noisy; diagnostic). */
  train_loss: Col.float64,
  /** Passes over the training sequences so far. */
  epochs: Col.float64
})
export type SweepObservationRow = typeof SweepObservations.row.Type
