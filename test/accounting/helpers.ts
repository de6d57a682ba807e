/** Shared helpers for the accounting tests. */

/** n values in [-0.5, 0.5) from a small LCG (deterministic per seed). */
export const uniformArray = (n: number, seed: number): Float64Array => {
  let s = seed >>> 0
  const x = new Float64Array(n)
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    x[i] = s / 2 ** 32 - 0.5
  }
  return x
}

/** Direct convolution of non-negative arrays: every entry within gamma_n (relative) of exact. */
export const directConvolution = (a: Float64Array, b: Float64Array): Float64Array => {
  const c = new Float64Array(a.length + b.length - 1)
  for (let i = 0; i < a.length; i++) {
    const ai = a[i]!
    if (ai === 0) continue
    for (let j = 0; j < b.length; j++) c[i + j] = c[i + j]! + ai * b[j]!
  }
  return c
}
