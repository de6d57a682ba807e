/**
 * Compute estimates and the feasibility check of a training config, for `plan` and
 * for refusing a run this machine cannot finish (the 1b scale without a GPU backend).
 *
 * FLOPs per token come from model/gemma.ts (3x forward, Kaplan et al. 2020); DP-SGD
 * with book-keeping costs about 1.2x non-private (Bu et al. 2023). Throughputs: this
 * machine's two cores peak at about 206 GFLOP/s in OpenBLAS; the wasm backend reaches
 * a few GFLOP/s on small models (bench/train.ts measures it); a data-centre GPU
 * sustains on the order of 100 TFLOP/s at 40% utilisation of a 250 TFLOP/s part.
 */
import { createRequire } from "node:module"
import { computeEstimate, decodeModelConfig } from "@dpipe/engine/model/gemma"
import type { TrainConfig, TrainPerf } from "./config.ts"

/** Effective training throughputs assumed for estimates (FLOP/s). */
export const ASSUMED_FLOPS = { native: 25e9, wasm: 5e9, cpu: 0.4e9, tensorflow: 100e12 } as const

/** Runs longer than this are refused on backends that cannot finish them. */
export const MAX_LOCAL_SECONDS = 24 * 3600

export interface TrainEstimate {
  readonly params: number
  readonly flopsPerToken: number
  /** Sequences per step (q*N), when N is known. */
  readonly expectedBatch: number | undefined
  readonly tokens: number | undefined
  readonly flops: number | undefined
  readonly seconds: number | undefined
}

const human = (s: number): string =>
  s < 120 ? `${s.toFixed(0)} s` : s < 7200 ? `${(s / 60).toFixed(0)} min` : s < 3 * 86400 ? `${(s / 3600).toFixed(1)} h` : s < 2 * 365 * 86400 ? `${(s / 86400).toFixed(0)} days` : `${(s / (365 * 86400)).toPrecision(3)} years`

/** The estimate for a config whose vocabulary and context are known (set in the config). */
export const estimateTraining = (c: TrainConfig, perf: TrainPerf, dp: boolean): TrainEstimate | undefined => {
  if (c.model.vocabSize === undefined || c.model.contextLength === undefined) return undefined
  const model = decodeModelConfig({ ...c.model, vocabSize: c.model.vocabSize, contextLength: c.model.contextLength })
  const e = computeEstimate(model)
  const flopsPerToken = e.trainFlopsPerToken * (dp ? 1.2 : 1)
  const expectedBatch = c.datasetSize !== undefined ? c.samplingRate * c.datasetSize : undefined
  const tokens = expectedBatch !== undefined ? expectedBatch * c.steps * model.contextLength : undefined
  const flops = tokens !== undefined ? tokens * flopsPerToken : undefined
  return { params: e.params, flopsPerToken, expectedBatch, tokens, flops, seconds: flops !== undefined ? flops / ASSUMED_FLOPS[perf.backend] : undefined }
}

export const describeEstimate = (c: TrainConfig, perf: TrainPerf, dp: boolean): ReadonlyArray<string> => {
  const e = estimateTraining(c, perf, dp)
  if (e === undefined) return []
  const lines = [`model ${(e.params / 1e6).toFixed(1)}M parameters, ${(e.flopsPerToken / 1e9).toFixed(2)} GFLOP per training token${dp ? " (DP-SGD, x1.2)" : ""}`]
  if (e.tokens !== undefined && e.flops !== undefined && e.seconds !== undefined && e.expectedBatch !== undefined) {
    lines.push(
      `assumed dataset ${c.datasetSize!.toExponential(3)} sequences, expected batch q*N = ${Math.round(e.expectedBatch).toLocaleString("en-US")} sequences, ${c.steps.toLocaleString("en-US")} steps: ` +
        `${e.tokens.toExponential(2)} tokens, ${e.flops.toExponential(2)} FLOP; on backend ${perf.backend} (~${(ASSUMED_FLOPS[perf.backend] / 1e9).toFixed(1)} GFLOP/s) about ${human(e.seconds)}`
    )
  }
  return lines
}

const installed = (pkg: string): boolean => {
  try {
    createRequire(import.meta.url).resolve(pkg)
    return true
  } catch {
    return false
  }
}

/** Refuses configs this machine cannot train in a day, and a tensorflow backend that is absent. */
export const trainingPreflight = (c: TrainConfig, perf: TrainPerf, dp: boolean): string | undefined => {
  const hasTf = installed("@tensorflow/tfjs-node-gpu") || installed("@tensorflow/tfjs-node")
  if (perf.backend === "tensorflow" && !hasTf) {
    return "backend tensorflow needs @tensorflow/tfjs-node-gpu (GPU machines) or @tensorflow/tfjs-node; neither is installed (they download libtensorflow at install time, which this machine cannot reach). Use --set <node>.backend=wasm, or install one on a machine that can."
  }
  const e = estimateTraining(c, perf, dp)
  if (e?.seconds !== undefined && e.seconds > MAX_LOCAL_SECONDS && perf.backend !== "tensorflow") {
    return `training would take about ${human(e.seconds)} on backend ${perf.backend} (${e.flops!.toExponential(2)} FLOP at ~${(ASSUMED_FLOPS[perf.backend] / 1e9).toFixed(1)} GFLOP/s; at 206 GFLOP/s, this machine's two-core peak, still ${human(e.flops! / 206e9)}). ` +
      `Run it on GPU machines with @tensorflow/tfjs-node-gpu installed and --set <node>.backend=tensorflow${hasTf ? "" : " (not installed here)"}.`
  }
  return undefined
}
