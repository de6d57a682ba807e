/**
 * Trainer.rollBack (docs/privacy.md, P12): the weights, moments and update count return
 * to the saved state, but the next step draws the batch and noise of the next EXECUTED
 * index (never a discarded step's), the schedule follows the executed index scaled by
 * the new factor, and the counters keep the work done. Without a rollback the executed
 * index equals the update count, so nothing changes for unguarded runs.
 */
import { describe, expect, it } from "vitest"
import { Trainer } from "@dpipe/engine/train/loop"
import type { BatchSelection, TrainOptions } from "@dpipe/engine/train/loop"
import { modelPresets } from "@dpipe/engine/model/gemma"
import { defaultOptimizer, learningRate } from "@dpipe/engine/train/optimizer"
import { keyedStream } from "@dpipe/random/keyed-random"

const cfg = modelPresets.micro
const S = 13
const N = 64
const key = new Uint8Array(32).fill(5)

const dataset = () => {
  const rng = keyedStream(key, "corpus", 0)
  const tokens = new Int32Array(N * S)
  for (let i = 0; i < tokens.length; i++) tokens[i] = rng.uint32() % cfg.vocabSize
  return { tokens, seqLen: S, count: N }
}

describe("Trainer.rollBack", () => {
  it("restores weights and update count, keeps the executed index for batch and noise, scales the rate", async () => {
    const batches: Array<number> = []
    const noised: Array<number> = []
    const optimizer = { ...defaultOptimizer(10), peakLr: 1e-2, warmupSteps: 1 }
    const opts: TrainOptions = {
      model: cfg,
      optimizer,
      dp: { clipNorm: 1, noiseMultiplier: 1, expectedBatchSize: 8, noiseKey: key },
      dataset: dataset(),
      backend: "cpu",
      workers: 1,
      microBatchSize: 8,
      selectBatch: (step): BatchSelection => {
        batches.push(step)
        return { indices: Int32Array.from({ length: 8 }, (_, i) => (step * 8 + i) % N) }
      },
      inspectGradient: (step) => noised.push(step)
    }
    const t = await Trainer.create(opts)
    try {
      await t.trainStep()
      await t.trainStep()
      const good = t.getState()
      expect([good.step, good.executed]).toEqual([2, 2])
      await t.trainStep()
      const m3 = await t.trainStep()
      expect([m3.step, m3.progressStep]).toEqual([3, 3])
      t.rollBack(good, 0.5)
      expect([t.step, t.executed]).toEqual([2, 4])
      expect(Array.from(t.flatParams())).toEqual(Object.values(good.params).flatMap((a) => Array.from(a)))
      // counters keep the four executed steps' examples
      expect(t.getState().counters.examples).toBe(32)
      const m = await t.trainStep()
      expect([m.step, m.progressStep]).toEqual([4, 2])
      expect(m.lr).toBe(learningRate(optimizer, 4) * 0.5)
      // batch and noise indices: 0 1 2 3, then 4 (fresh), never 2 or 3 again
      expect(batches).toEqual([0, 1, 2, 3, 4])
      expect(noised).toEqual([0, 1, 2, 3, 4])
      const after = t.getState()
      expect([after.step, after.executed, after.lrScale]).toEqual([3, 5, 0.5])
      // a state taken after a rollback restores all of it
      const u = await Trainer.create(opts, after)
      try {
        expect([u.step, u.executed, u.getState().lrScale]).toEqual([3, 5, 0.5])
      } finally {
        await u.close()
      }
    } finally {
      await t.close()
    }
  }, 120_000)
})
