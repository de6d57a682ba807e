/**
 * The probe loss: the mean per-example loss of given weights on a fixed set of sequences,
 * forward only, in this thread, with the model's constants kept between calls. The
 * training stage's stability guard scores the DP weights on PUBLIC sequences with it
 * (docs/privacy.md, P12): a function of DP weights and public data, so a post-processing
 * of DP releases that costs no privacy.
 */
import { GemmaModel, disposeWeights, uploadWeights } from "@dpipe/engine/model/gemma"
import type { ModelConfig } from "@dpipe/engine/model/gemma"
import { gatherSequences } from "@dpipe/engine/train/engine"
import type { SequenceDataset } from "@dpipe/engine/train/engine"
import { initBackend } from "@dpipe/engine/train/backend"
import type { BackendName } from "@dpipe/engine/train/backend"

export class ProbeLoss {
  private readonly model: GemmaModel
  private readonly seqs: Int32Array
  readonly dataset: SequenceDataset
  private constructor(model: GemmaModel, dataset: SequenceDataset) {
    this.model = model
    this.dataset = dataset
    this.seqs = gatherSequences(dataset, Int32Array.from({ length: dataset.count }, (_, i) => i))
  }

  /** Initialises `backend` in this thread (a no-op when it is already active). */
  static async create(config: ModelConfig, dataset: SequenceDataset, backend: BackendName): Promise<ProbeLoss> {
    if (dataset.count < 1) throw new RangeError("the probe needs at least one sequence")
    if (dataset.seqLen > config.contextLength + 1) throw new RangeError(`probe sequences (${dataset.seqLen}) exceed contextLength + 1 (${config.contextLength + 1})`)
    await initBackend(backend)
    return new ProbeLoss(new GemmaModel(config), dataset)
  }

  /** Mean over the probe's sequences of each sequence's mean token loss (nats/token). */
  loss(params: Float32Array): number {
    const w = uploadWeights(this.model.config, params)
    try {
      const S = this.dataset.seqLen
      const T = S - 1
      const per = this.model.tokenLosses(w, this.seqs, this.dataset.count, S)
      let sum = 0
      for (let i = 0; i < per.length; i++) sum += per[i] as number
      return sum / (this.dataset.count * T)
    } finally {
      disposeWeights(w)
    }
  }

  dispose(): void {
    this.model.dispose()
  }
}
