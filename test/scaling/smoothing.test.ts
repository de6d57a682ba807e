/** Smoothing of loss curves: PAVA and the centred rolling mean against hand computations. */
import { describe, expect, it } from "vitest"
import { centredRollingMean, isotonicNonDecreasing, isotonicNonIncreasing, onFinite, smoothLossMatrix } from "@dpipe/scaling"

const close = (a: ReadonlyArray<number>, b: ReadonlyArray<number>) => {
  expect(a.length).toBe(b.length)
  a.forEach((x, i) => expect(x).toBeCloseTo(b[i]!, 12))
}

/** The least-squares isotonic fit by brute force over block partitions (small n). */
const bruteNonDecreasing = (y: ReadonlyArray<number>): Array<number> => {
  const n = y.length
  let best: Array<number> = []
  let bestErr = Infinity
  for (let mask = 0; mask < 1 << (n - 1); mask++) {
    const out: Array<number> = []
    let start = 0
    for (let i = 0; i < n; i++) {
      if (i === n - 1 || ((mask >> i) & 1) === 1) {
        const block = y.slice(start, i + 1)
        const m = block.reduce((a, b) => a + b, 0) / block.length
        for (let k = start; k <= i; k++) out.push(m)
        start = i + 1
      }
    }
    if (out.some((v, i) => i > 0 && v < out[i - 1]! - 1e-12)) continue
    const err = out.reduce((a, v, i) => a + (v - y[i]!) ** 2, 0)
    if (err < bestErr) {
      bestErr = err
      best = out
    }
  }
  return best
}

describe("isotonic regression (pool adjacent violators)", () => {
  it("pools violators into their mean: hand-computed cases", () => {
    close(isotonicNonDecreasing([1, 3, 2, 4]), [1, 2.5, 2.5, 4])
    close(isotonicNonDecreasing([3, 2, 1]), [2, 2, 2])
    close(isotonicNonDecreasing([1, 2, 3]), [1, 2, 3])
    // 5, 1 pool to 3; then 3, 3 against 2 pools to (5 + 1 + 2) / 3 = 8/3.
    close(isotonicNonDecreasing([0, 5, 1, 2, 9]), [0, 8 / 3, 8 / 3, 8 / 3, 9])
    close(isotonicNonIncreasing([4, 5, 3, 3.5, 1]), [4.5, 4.5, 3.25, 3.25, 1])
  })

  it("weights enter the pooled mean", () => {
    // (2 * 1 + 1 * 0) / 3 = 2/3
    close(isotonicNonDecreasing([1, 0], [2, 1]), [2 / 3, 2 / 3])
  })

  it("equals the brute-force least-squares monotone fit on random inputs", () => {
    let seed = 7
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31)
    for (let trial = 0; trial < 40; trial++) {
      const y = Array.from({ length: 2 + (trial % 7) }, () => Math.round(rand() * 20) / 4)
      close(isotonicNonDecreasing(y), bruteNonDecreasing(y))
      close(isotonicNonIncreasing(y), bruteNonDecreasing(y.map((v) => -v)).map((v) => -v))
    }
  })
})

describe("centred rolling mean", () => {
  it("averages a symmetric window, shrunk at the ends", () => {
    // window 3 -> half-width 1; ends have half-width 0.
    close(centredRollingMean([1, 2, 6, 4, 10], 3), [1, 3, 4, 20 / 3, 10])
    // window 4 -> half-width 2: index 2 averages all five; 1 and 3 shrink to half-width 1.
    close(centredRollingMean([1, 2, 6, 4, 10], 4), [1, 3, 23 / 5, 20 / 3, 10])
    close(centredRollingMean([5, 7], 1), [5, 7])
  })

  it("leaves a linear sequence unchanged (no lag, unlike a trailing mean)", () => {
    const y = Array.from({ length: 12 }, (_, i) => 10 - 0.5 * i)
    close(centredRollingMean(y, 10), y)
  })
})

describe("smoothing a loss matrix", () => {
  it("applies to finite entries only and keeps NaN in place", () => {
    const out = onFinite([3, Number.NaN, 1, 2], (v) => isotonicNonIncreasing(v))
    expect(out[1]).toBeNaN()
    close([out[0]!, out[2]!, out[3]!], [3, 1.5, 1.5])
  })

  it("is non-increasing in T per column and non-decreasing in sigma-bar per row (hand case)", () => {
    // rows = steps, columns = sigma-bar; window 1 (no averaging).
    const m = [
      [5, 4],
      [4.5, 4.8],
      [4.6, 4.2]
    ]
    // Columns: [5, 4.5, 4.6] -> [5, 4.55, 4.55]; [4, 4.8, 4.2] -> [4.4, 4.4, 4.2].
    // Rows: [5, 4.4] -> [4.7, 4.7]; [4.55, 4.4] -> [4.475, 4.475]; [4.55, 4.2] -> [4.375, 4.375].
    const s = smoothLossMatrix(m, 1)
    close(s[0]!, [4.7, 4.7])
    close(s[1]!, [4.475, 4.475])
    close(s[2]!, [4.375, 4.375])
  })
})
