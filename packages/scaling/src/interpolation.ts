/**
 * Linear interpolation on a regular (rectilinear, not necessarily uniform) grid in any number
 * of dimensions, NaN outside the grid or where a corner with non-zero weight is NaN: what
 * the authors' code gets from scipy's RegularGridInterpolator(method="linear",
 * bounds_error=False). Written here: no maintained npm package does N-d multilinear
 * interpolation on a rectilinear grid (the registry's interpolation packages are 1-d or
 * uniform-grid image resamplers), and it is thirty lines.
 */

/** Tolerance (absolute, in axis units) for a query on a grid edge after rounding. */
const EDGE_TOLERANCE = 1e-9

/** Index i and weight t of x on a sorted axis: x = (1-t) axis[i] + t axis[i+1]; undefined outside. */
export const locate = (axis: ReadonlyArray<number>, x: number): { readonly index: number; readonly t: number } | undefined => {
  const n = axis.length
  if (n === 0 || !Number.isFinite(x)) return undefined
  const first = axis[0]!
  const last = axis[n - 1]!
  if (x < first - EDGE_TOLERANCE || x > last + EDGE_TOLERANCE) return undefined
  if (n === 1) return { index: 0, t: 0 }
  if (x <= first) return { index: 0, t: 0 }
  if (x >= last) return { index: n - 2, t: 1 }
  let lo = 0
  let hi = n - 1
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1
    if (axis[mid]! <= x) lo = mid
    else hi = mid
  }
  return { index: lo, t: (x - axis[lo]!) / (axis[lo + 1]! - axis[lo]!) }
}

/**
 * Multilinear interpolation of `values` (row-major over `axes`, last axis fastest) at `point`.
 * NaN when the point is outside any axis or a corner it depends on is NaN.
 */
export const interpolateGrid = (
  axes: ReadonlyArray<ReadonlyArray<number>>,
  values: ArrayLike<number>,
  point: ReadonlyArray<number>
): number => {
  const d = axes.length
  const located: Array<{ index: number; t: number }> = []
  for (let k = 0; k < d; k++) {
    const l = locate(axes[k]!, point[k]!)
    if (l === undefined) return Number.NaN
    located.push(l)
  }
  const strides: Array<number> = new Array(d)
  let stride = 1
  for (let k = d - 1; k >= 0; k--) {
    strides[k] = stride
    stride *= axes[k]!.length
  }
  let sum = 0
  for (let corner = 0; corner < 1 << d; corner++) {
    let w = 1
    let offset = 0
    for (let k = 0; k < d; k++) {
      const upper = (corner >> k) & 1
      const { index, t } = located[k]!
      const wk = upper === 1 ? t : 1 - t
      if (wk === 0) {
        w = 0
        break
      }
      w *= wk
      offset += (index + upper) * strides[k]!
    }
    if (w === 0) continue
    const v = values[offset]!
    if (!Number.isFinite(v)) return Number.NaN
    sum += w * v
  }
  return sum
}

/** 1-d linear interpolation on sorted xs, NaN outside [xs[0], xs[n-1]] or next to a NaN. */
export const interpolate1d = (xs: ReadonlyArray<number>, ys: ArrayLike<number>, x: number): number => interpolateGrid([xs], ys, [x])

/**
 * Fills NaN entries strictly between two finite ones by linear interpolation in x (the
 * authors fill missing noise-batch ratios this way); leading and trailing NaNs stay.
 */
export const fillInteriorGaps = (xs: ReadonlyArray<number>, ys: ReadonlyArray<number>): Array<number> => {
  const out = [...ys]
  let prev = -1
  for (let i = 0; i < out.length; i++) {
    if (!Number.isFinite(out[i]!)) continue
    if (prev >= 0 && i - prev > 1) {
      for (let j = prev + 1; j < i; j++) {
        const t = (xs[j]! - xs[prev]!) / (xs[i]! - xs[prev]!)
        out[j] = (1 - t) * out[prev]! + t * out[i]!
      }
    }
    prev = i
  }
  return out
}
