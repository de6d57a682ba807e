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
