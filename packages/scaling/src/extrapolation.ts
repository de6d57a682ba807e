/**
 * Extrapolation of a loss curve in T by L(T) = E + A T^-alpha (McKenna et al. 2025, §3.3;
 * the authors write it exp(m log T + b) + E with m = -alpha, b = log A):
 *
 * - `fitConvergence`: all of (E, A, alpha) on one curve (the non-private curve of a model,
 *   whose E is the model's best achievable loss);
 * - `fitTail`: (A, alpha) with E fixed, on the late part of a curve, for extrapolating it.
 *
 * Least squares in L by Levenberg-Marquardt (least-squares.ts: the maintained
 * `ml-levenberg-marquardt` package, with the analytic Jacobian), started from the linear regression of
 * log(L - E) on log T, which is exact when the data follow the law.
 */
import { leastSquares } from "./least-squares.ts"

export interface PowerLaw {
  /** Asymptotic loss E. */
  readonly floor: number
  /** A in E + A T^-alpha. */
  readonly scale: number
  /** alpha >= 0. */
  readonly exponent: number
}

export const evalPowerLaw = (law: PowerLaw, t: number): number => law.floor + law.scale * Math.pow(t, -law.exponent)

const sse = (law: PowerLaw, ts: ReadonlyArray<number>, ls: ReadonlyArray<number>): number => {
  let s = 0
  for (let i = 0; i < ts.length; i++) s += (evalPowerLaw(law, ts[i]!) - ls[i]!) ** 2
  return s
}

/** log(L - E) = log A - alpha log T by least squares, over the points with L > E. */
const regressionStart = (ts: ReadonlyArray<number>, ls: ReadonlyArray<number>, floor: number): PowerLaw | undefined => {
  const xs: Array<number> = []
  const ys: Array<number> = []
  for (let i = 0; i < ts.length; i++) {
    if (ls[i]! > floor) {
      xs.push(Math.log(ts[i]!))
      ys.push(Math.log(ls[i]! - floor))
    }
  }
  if (xs.length < 2) return undefined
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length
  const my = ys.reduce((a, b) => a + b, 0) / ys.length
  let sxy = 0
  let sxx = 0
  for (let i = 0; i < xs.length; i++) {
    sxy += (xs[i]! - mx) * (ys[i]! - my)
    sxx += (xs[i]! - mx) ** 2
  }
  const slope = sxx > 0 ? sxy / sxx : 0
  const exponent = Math.max(0, -slope)
  return { floor, scale: Math.exp(my + exponent * mx), exponent }
}

const MAX_EXPONENT = 5

/** Levenberg-Marquardt on (E?, b = log A, m = -alpha); E fixed when `fixedFloor` is given. */
const refineLm = (ts: ReadonlyArray<number>, ls: ReadonlyArray<number>, start: PowerLaw, fixedFloor: number | undefined, maxFloor: number): PowerLaw => {
  if (ts.length < 3) return start
  const free = fixedFloor === undefined
  const b0 = Math.log(Math.max(start.scale, 1e-300))
  const unpack = (p: ReadonlyArray<number>) => (free ? { e: p[0]!, b: p[1]!, m: p[2]! } : { e: fixedFloor, b: p[0]!, m: p[1]! })
  const r = leastSquares({
    x: ts,
    y: ls,
    model: (p) => {
      const { e, b, m } = unpack(p)
      return (t) => e + Math.exp(m * Math.log(t) + b)
    },
    jacobian: (p) => {
      const { b, m } = unpack(p)
      return (t) => {
        const lt = Math.log(t)
        const g = Math.exp(m * lt + b)
        return free ? [1, g, g * lt] : [g, g * lt]
      }
    },
    initial: free ? [start.floor, b0, -start.exponent] : [b0, -start.exponent],
    min: free ? [0, -700, -MAX_EXPONENT] : [-700, -MAX_EXPONENT],
    max: free ? [maxFloor, 700, 0] : [700, 0]
  })
  const { e, b, m } = unpack(r.params)
  const law = { floor: e, scale: Math.exp(b), exponent: -m }
  return sse(law, ts, ls) <= sse(start, ts, ls) ? law : start
}

/**
 * (E, A, alpha) of one curve. E is searched in [0, min L) from a few starts (fractions of
 * min L, each with the regression start for A and alpha), then refined jointly.
 */
export const fitConvergence = (ts: ReadonlyArray<number>, ls: ReadonlyArray<number>): PowerLaw => {
  const minL = Math.min(...ls)
  const maxFloor = minL * (1 - 1e-9)
  let best: PowerLaw = { floor: minL, scale: 0, exponent: 0 }
  let bestErr = sse(best, ts, ls)
  for (const f of [0, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99]) {
    const start = regressionStart(ts, ls, f * minL)
    if (start === undefined) continue
    const law = refineLm(ts, ls, start, undefined, maxFloor)
    const err = sse(law, ts, ls)
    if (err < bestErr) {
      best = law
      bestErr = err
    }
  }
  return best
}

/** (A, alpha) of one curve with E fixed; a flat law at the last value when nothing better fits. */
export const fitTail = (ts: ReadonlyArray<number>, ls: ReadonlyArray<number>, floor: number): PowerLaw => {
  const flat: PowerLaw = { floor: ls[ls.length - 1]!, scale: 0, exponent: 0 }
  const start = regressionStart(ts, ls, floor)
  if (start === undefined) return flat
  const law = refineLm(ts, ls, start, floor, floor)
  return sse(law, ts, ls) <= sse(flat, ts, ls) ? law : flat
}
