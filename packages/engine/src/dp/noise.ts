/**
 * The Gaussian mechanism step of DP-SGD (Abadi et al. 2016):
 *   g~ = (sum_i c_i G_i + N(0, sigma^2 C^2 I)) / (q N)
 * Noise is drawn from the keyed CSPRNG stream ("noise", step) so that a resumed run adds
 * exactly the same noise (docs/privacy.md, P7), in float64 (Box-Muller), added to the
 * float64 sum ONCE per logical step (P2), then divided by the public expected batch
 * size (P1) and only then cast to float32.
 */
import { keyedStream } from "@dpipe/random/keyed-random"

/** Fills `out` with the step's noise N(0, std^2), float64. */
export const stepNoise = (key: Uint8Array, step: number, out: Float64Array, std: number): Float64Array =>
  keyedStream(key, "noise", step).fillGaussian(out, std) as Float64Array

/**
 * Noisy, normalized gradient from the clipped sum. `noise` may be precomputed (e.g. while
 * workers compute) with `stepNoise`; it must be the draw for this step.
 */
export const privatizeGradient = (
  sum: Float64Array,
  opts: { readonly key: Uint8Array; readonly step: number; readonly std: number; readonly expectedBatchSize: number; readonly noise?: Float64Array }
): Float32Array => {
  const noise = opts.noise ?? stepNoise(opts.key, opts.step, new Float64Array(sum.length), opts.std)
  if (noise.length !== sum.length) throw new RangeError("noise length differs from gradient length")
  const out = new Float32Array(sum.length)
  const inv = 1 / opts.expectedBatchSize
  for (let i = 0; i < sum.length; i++) out[i] = ((sum[i] as number) + (noise[i] as number)) * inv
  return out
}
