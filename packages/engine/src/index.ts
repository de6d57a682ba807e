/**
 * @dpipe/engine: the DP-SGD training engine. A Gemma-style model with a hand-written
 * backward (model/gemma.ts; model/hf-gemma.ts maps it to Hugging Face's Gemma layout, written
 * as safetensors by model/safetensors.ts), per-example gradient norms and the clipped sum (dp/clip.ts),
 * the Gaussian noise step (dp/noise.ts), Poisson and truncated-Poisson samplers
 * (sampling/), AdamW, gradient engines on one or several threads and the training loop
 * (train/). It knows nothing of pipelines or stores: a caller gives it parameters, data
 * and keys and gets parameters, metrics and the DP execution plan back.
 */
export * from "@dpipe/engine/model/gemma"
export * from "@dpipe/engine/model/hf-gemma"
export * from "@dpipe/engine/model/safetensors"
export * from "@dpipe/engine/dp/clip"
export * from "@dpipe/engine/dp/noise"
export * from "@dpipe/engine/sampling/errors"
export * from "@dpipe/engine/sampling/poisson"
export * from "@dpipe/engine/sampling/truncated"
export * from "@dpipe/engine/train/backend"
export * from "@dpipe/engine/train/engine"
export * from "@dpipe/engine/train/loop"
export * from "@dpipe/engine/train/optimizer"
