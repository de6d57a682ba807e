/**
 * Nonlinear least squares by Levenberg-Marquardt: the maintained `ml-levenberg-marquardt`
 * package, run in chunks of iterations until the sum of squares stops improving (the
 * package stops only at an absolute error threshold or its iteration cap), keeping the best
 * parameters seen. Library errors (a singular step) end the search at the best so far.
 */
import { levenbergMarquardt } from "ml-levenberg-marquardt"

export interface LeastSquaresProblem {
  readonly x: ArrayLike<number>
  readonly y: ArrayLike<number>
  readonly model: (params: ReadonlyArray<number>) => (x: number) => number
  readonly jacobian: (params: ReadonlyArray<number>) => (x: number) => Array<number>
  readonly initial: ReadonlyArray<number>
  readonly min: ReadonlyArray<number>
  readonly max: ReadonlyArray<number>
  /** Default 400. */
  readonly maxIterations?: number
  /** Stop when a chunk improves the sum of squares by less than this fraction; default 1e-10. */
  readonly relTol?: number
}

export const sumOfSquares = (p: LeastSquaresProblem, params: ReadonlyArray<number>): number => {
  const f = p.model(params)
  let s = 0
  for (let i = 0; i < p.x.length; i++) s += (p.y[i]! - f(p.x[i]!)) ** 2
  return Number.isFinite(s) ? s : Number.POSITIVE_INFINITY
}

/** The parameters with the least sum of squares found, and that sum. */
export const leastSquares = (p: LeastSquaresProblem): { readonly params: Array<number>; readonly sse: number } => {
  const clamp = p.initial.map((v, k) => Math.min(p.max[k]!, Math.max(p.min[k]!, v)))
  let best = { params: clamp, sse: sumOfSquares(p, clamp) }
  if (p.x.length < 2) return best
  const chunk = 25
  const maxIterations = p.maxIterations ?? 400
  const relTol = p.relTol ?? 1e-10
  for (let done = 0; done < maxIterations; done += chunk) {
    let next: Array<number>
    try {
      next = levenbergMarquardt({ x: p.x, y: p.y }, (q) => p.model(q), {
        initialValues: best.params,
        minValues: p.min,
        maxValues: p.max,
        maxIterations: chunk,
        errorTolerance: 0,
        jacobianFunction: (q) => p.jacobian(q)
      }).parameterValues
    } catch {
      break
    }
    const sse = sumOfSquares(p, next)
    if (!(sse < best.sse)) break
    const gain = (best.sse - sse) / Math.max(best.sse, 1e-300)
    best = { params: next, sse }
    if (gain < relTol) break
  }
  return best
}
