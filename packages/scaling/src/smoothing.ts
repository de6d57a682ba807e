/**
 * Smoothing of loss curves before the fit (McKenna et al. 2025, §3.3): a rolling mean along
 * T, then isotonic regression so that the loss is non-increasing in T and non-decreasing in
 * the noise-batch ratio.
 *
 * Isotonic regression is the pool-adjacent-violators algorithm (Ayer et al. 1955), written
 * here: the npm registry has no maintained isotonic-regression package (none is listed in
 * the registry snapshot this project installs from), and PAVA is twenty lines.
 *
 * The rolling mean is CENTRED (a window of `window` points around each index, shrunk
 * symmetrically at the ends), not trailing as in the authors' code: on a decreasing curve a
 * trailing mean is biased upward by half a window of progress, a centred one only to second
 * order.
 */

/**
 * Least-squares non-decreasing fit of y (optionally weighted): the pool-adjacent-violators
 * algorithm, O(n). Inputs must be finite.
 */
export const isotonicNonDecreasing = (y: ReadonlyArray<number>, weights?: ReadonlyArray<number>): Array<number> => {
  const n = y.length
  const mean: Array<number> = []
  const weight: Array<number> = []
  const count: Array<number> = []
  for (let i = 0; i < n; i++) {
    let m = y[i]!
    let w = weights?.[i] ?? 1
    let c = 1
    while (mean.length > 0 && mean[mean.length - 1]! > m) {
      const pm = mean.pop()!
      const pw = weight.pop()!
      const pc = count.pop()!
      m = (pm * pw + m * w) / (pw + w)
      w += pw
      c += pc
    }
    mean.push(m)
    weight.push(w)
    count.push(c)
  }
  const out: Array<number> = []
  for (let b = 0; b < mean.length; b++) for (let k = 0; k < count[b]!; k++) out.push(mean[b]!)
  return out
}

/** Least-squares non-increasing fit of y (PAVA on -y). */
export const isotonicNonIncreasing = (y: ReadonlyArray<number>, weights?: ReadonlyArray<number>): Array<number> =>
  isotonicNonDecreasing(
    y.map((v) => -v),
    weights
  ).map((v) => -v)

/**
 * Centred rolling mean: out[i] is the mean of y[i-h .. i+h] with h = min(floor(window/2), i,
 * n-1-i), so every window is symmetric (the ends are smoothed less). window <= 1 copies y.
 */
export const centredRollingMean = (y: ReadonlyArray<number>, window: number): Array<number> => {
  const n = y.length
  const half = Math.max(0, Math.floor(window / 2))
  const prefix = [0]
  for (let i = 0; i < n; i++) prefix.push(prefix[i]! + y[i]!)
  const out: Array<number> = []
  for (let i = 0; i < n; i++) {
    const h = Math.min(half, i, n - 1 - i)
    out.push((prefix[i + h + 1]! - prefix[i - h]!) / (2 * h + 1))
  }
  return out
}

/** Applies f to the finite entries of y (in order) and leaves NaN entries in place. */
export const onFinite = (y: ReadonlyArray<number>, f: (finite: ReadonlyArray<number>) => ReadonlyArray<number>): Array<number> => {
  const idx: Array<number> = []
  for (let i = 0; i < y.length; i++) if (Number.isFinite(y[i]!)) idx.push(i)
  const fitted = f(idx.map((i) => y[i]!))
  const out = y.map(() => Number.NaN)
  idx.forEach((i, k) => (out[i] = fitted[k]!))
  return out
}

/**
 * The paper's smoothing of one (model, learning rate) matrix: rows = steps (ascending),
 * columns = noise-batch ratios (ascending), NaN = not observed. Each column: rolling mean,
 * then non-increasing in T; then each row: non-decreasing in the noise-batch ratio.
 */
export const smoothLossMatrix = (matrix: ReadonlyArray<ReadonlyArray<number>>, window: number): Array<Array<number>> => {
  const rows = matrix.length
  const cols = matrix[0]?.length ?? 0
  const out: Array<Array<number>> = matrix.map((r) => [...r])
  for (let c = 0; c < cols; c++) {
    const column = onFinite(
      out.map((r) => r[c]!),
      (v) => isotonicNonIncreasing(centredRollingMean(v, window))
    )
    for (let r = 0; r < rows; r++) out[r]![c] = column[r]!
  }
  for (let r = 0; r < rows; r++) out[r] = onFinite(out[r]!, (v) => isotonicNonDecreasing(v))
  return out
}
