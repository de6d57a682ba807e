/**
 * Profiling helper: tf kernel time of one call by kernel name, against wall time, so that a
 * step's time can be split into matmul kernels, other kernels and time outside kernels
 * (JS, host<->wasm copies, JS-side reductions).
 */
import * as tf from "@tensorflow/tfjs-core"

export interface KernelProfile {
  readonly wallMs: number
  readonly kernelMs: number
  readonly kernels: number
  /** Kernel time by kernel name, largest first. */
  readonly byKernel: ReadonlyArray<readonly [string, number]>
}

export const profileKernels = async (f: () => void): Promise<KernelProfile> => {
  const t0 = performance.now()
  const info = await tf.profile(f)
  const wallMs = performance.now() - t0
  const by = new Map<string, number>()
  for (const k of info.kernels) by.set(k.name, (by.get(k.name) ?? 0) + Number(k.kernelTimeMs))
  const byKernel = [...by].sort((a, b) => b[1] - a[1])
  return { wallMs, kernelMs: byKernel.reduce((a, [, ms]) => a + ms, 0), kernels: info.kernels.length, byKernel }
}
