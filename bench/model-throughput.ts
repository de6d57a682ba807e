/**
 * `pnpm bench model-throughput [--steps=N] [--batch=B]`: DP-SGD training tokens per second
 * of each model of the scaling sweep (micro, tiny, mini, small at vocabulary 2048 and
 * 65-token sequences, the tiny recipe's data shape), one worker, native backend, steps of
 * all models interleaved round-robin so that the machine's load hits them alike. Prints
 * each model's median tokens/s, its FLOPs per token (6 M) and its speed relative to the
 * `tiny` model next to the ratio 6 M predicts: the planner's compute C = 6 M B S T
 * assumes time proportional to M, which small models do not follow (fixed per-step and
 * per-example costs). pipelines/scaling-laws/tiny-recipe.ts turns these ratios into each
 * model's affordable tokens.
 */
import { decodeModelConfig, paramCount } from "@dpipe/engine/model/gemma"
import { Trainer } from "@dpipe/engine/train/loop"
import { defaultOptimizer } from "@dpipe/engine/train/optimizer"
import { keyedStream } from "@dpipe/random/keyed-random"

const MODELS = {
  micro: { dModel: 32, layers: 1, heads: 2, kvHeads: 1, headDim: 16, ffnDim: 64 },
  tiny: { dModel: 64, layers: 2, heads: 4, kvHeads: 4, headDim: 16, ffnDim: 256 },
  mini: { dModel: 96, layers: 3, heads: 4, kvHeads: 4, headDim: 24, ffnDim: 384 },
  small: { dModel: 128, layers: 4, heads: 4, kvHeads: 4, headDim: 32, ffnDim: 512 }
} as const

const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2
}

export const main = async (argv: ReadonlyArray<string>): Promise<void> => {
  const arg = (name: string, d: number) => Number(argv.find((a) => a.startsWith(`--${name}=`))?.split("=")[1] ?? d)
  const steps = arg("steps", 4)
  const B = arg("batch", 128)
  const S = 65
  const V = 2048
  const N = 4 * B
  const rng = keyedStream(new Uint8Array(32).fill(7), "bench-data", 0)
  const tokens = new Int32Array(N * S)
  for (let i = 0; i < tokens.length; i++) tokens[i] = rng.uint32() % V
  const dataset = { tokens, seqLen: S, count: N }
  const key = new Uint8Array(32).fill(1)
  const entries = Object.entries(MODELS)
  const trainers: Array<{ name: string; params: number; t: Trainer; ms: Array<number> }> = []
  for (const [name, shape] of entries) {
    const model = decodeModelConfig({ ...shape, vocabSize: V, contextLength: S - 1, tiedEmbeddings: true, ropeBase: 10000, normEps: 1e-6 })
    const t = await Trainer.create({
      model,
      optimizer: defaultOptimizer(1000),
      dp: { clipNorm: 1, noiseMultiplier: 0.5, expectedBatchSize: B, noiseKey: key },
      dataset,
      backend: "native",
      workers: 1,
      microBatchSize: 32,
      selectBatch: (step) => ({ indices: Int32Array.from({ length: B }, (_, i) => (step * B + i) % N) })
    })
    trainers.push({ name, params: paramCount(model), t, ms: [] })
  }
  try {
    for (let round = 0; round < steps + 1; round++) {
      for (const x of trainers) {
        const m = await x.t.trainStep()
        if (round > 0) x.ms.push(m.stepMs)
      }
    }
  } finally {
    for (const x of trainers) await x.t.close()
  }
  const tiny = trainers.find((x) => x.name === "tiny")!
  const tokPerSec = (x: (typeof trainers)[number]) => (B * (S - 1)) / (median(x.ms) / 1000)
  console.log(`DP-SGD, batch ${B}, ${S}-token sequences, vocabulary ${V}, native backend, 1 worker, median of ${steps} interleaved steps`)
  console.log("model   params     tokens/s   speed vs tiny   6M predicts")
  for (const x of trainers) {
    console.log(
      `${x.name.padEnd(7)} ${String(x.params).padStart(9)}  ${tokPerSec(x).toFixed(0).padStart(9)}   ${(tokPerSec(x) / tokPerSec(tiny)).toFixed(2).padStart(12)}   ${(tiny.params / x.params).toFixed(2).padStart(10)}`
    )
  }
}
