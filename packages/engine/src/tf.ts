/**
 * The TensorFlow.js core API the engine runs on, re-exported so that callers and tests
 * use the engine's exact copy (one tfjs instance per thread: kernels, backends and the
 * tensor registry are global to it).
 */
export * as tf from "@tensorflow/tfjs-core"
