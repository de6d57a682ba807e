/**
 * Synthetic sweeps for the scaling-law tests: losses from a known law over a grid shaped like
 * a dp-scaling sweep (models x noise-batch ratios x learning rates x every logged step),
 * with multiplicative Gaussian noise from a seeded generator.
 */
import type { SweepObservation } from "@dpipe/scaling"

/** A deterministic normal generator (mulberry32 + Box-Muller). */
export const normals = (seed: number) => {
  let a = seed >>> 0
  const uniform = () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  return () => {
    const u = Math.max(uniform(), 1e-12)
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * uniform())
  }
}

export type TrueLaw = (params: number, steps: number, noiseBatchRatio: number) => number

/**
 * A law shaped like the paper's findings: loss falls with M and T, and the noise penalty
 * grows with sigma-bar and with the model size (so private optima are smaller models) and
 * shrinks slowly with T.
 */
export const paperLikeLaw: TrueLaw = (M, T, s) =>
  1.8 + 25 * Math.pow(M, -0.22) + 12 * Math.pow(T, -0.35) + 0.8 * Math.log1p((s / 2 ** -10) * Math.pow(M / 1e6, 0.5) * Math.pow(T / 1000, -0.2))

export const MODELS = [
  { name: "m200k", params: 2e5 },
  { name: "m500k", params: 5e5 },
  { name: "m1m", params: 1.2e6 },
  { name: "m3m", params: 3e6 },
  { name: "m7m", params: 7e6 }
] as const

export const SIGMAS = [0, 2 ** -14, 2 ** -12.5, 2 ** -11, 2 ** -9.5, 2 ** -8, 2 ** -6.5, 2 ** -5] as const

export interface SweepSpec {
  readonly law: TrueLaw
  readonly models?: ReadonlyArray<{ readonly name: string; readonly params: number }>
  readonly sigmas?: ReadonlyArray<number>
  /** Logged steps; default every 20 from 20 to 2000. */
  readonly steps?: ReadonlyArray<number>
  /** Learning rates and the multiplicative loss penalty of each (the best has 0). */
  readonly learningRates?: ReadonlyArray<readonly [number, number]>
  /** Relative noise std of each logged loss. */
  readonly noise?: number
  readonly seed?: number
}

export const defaultSteps = Array.from({ length: 100 }, (_, i) => 20 * (i + 1))

export const sweep = (spec: SweepSpec): Array<SweepObservation> => {
  const z = normals(spec.seed ?? 1)
  const out: Array<SweepObservation> = []
  for (const m of spec.models ?? MODELS)
    for (const [learningRate, penalty] of spec.learningRates ?? [[1e-3, 0], [3e-3, 0.02], [3e-4, 0.04]])
      for (const s of spec.sigmas ?? SIGMAS)
        for (const step of spec.steps ?? defaultSteps)
          out.push({
            model: m.name,
            params: m.params,
            learningRate,
            noiseBatchRatio: s,
            step,
            loss: spec.law(m.params, step, s) * (1 + penalty) * (1 + (spec.noise ?? 0.005) * z())
          })
  return out
}
