/**
 * The radix-2 FFT behind the PLD composition: its twiddles meet the accuracy the error bound
 * assumes (checked against a 45-digit evaluation), its loop order does exactly the arithmetic
 * of the textbook algorithm Higham's Theorem 24.2 is about (bit-identical outputs), and it
 * meets that theorem's bound against an extended-precision DFT.
 */
import { describe, expect, it } from "vitest"
import { uniformArray as random } from "./helpers.ts"
import { fftRelativeError, inverseTransform, transform, TWIDDLE_ERROR, twiddle } from "@dpipe/accounting/fft"

/** pi to 50 digits. */
const PI_DIGITS = "314159265358979323846264338327950288419716939937510"
const SCALE = 10n ** 45n
const PI = BigInt(PI_DIGITS.slice(0, 46))

/** cos and sin of 2 pi j / n in fixed point (scale 1e45) by Taylor series. */
const cosSinExact = (n: number, j: number): readonly [bigint, bigint] => {
  const x = (2n * PI * BigInt(j)) / BigInt(n) // theta * SCALE, theta < pi
  let term = SCALE
  let cos = SCALE
  let sin = 0n
  for (let k = 1; k < 120; k++) {
    term = (term * x) / SCALE / BigInt(k)
    if (term === 0n) break
    const sign = k % 4 === 1 || k % 4 === 2 ? -1n : 1n
    if (k % 2 === 1) sin += (k % 4 === 1 ? 1n : -1n) * term
    else cos += sign * term
  }
  return [cos, sin]
}

const toNumber = (x: bigint): number => Number(x) / 1e45

describe("FFT twiddles", () => {
  it(`are within TWIDDLE_ERROR (${TWIDDLE_ERROR}) of exp(-2 pi i j / n), checked to 45 digits`, () => {
    let worst = 0
    const check = (n: number, j: number) => {
      const [c, s] = cosSinExact(n, j)
      const [wr, wi] = twiddle(n, j)
      // exact differences: the float values are exact rationals, compare in fixed point
      const dr = toNumber(BigInt(Math.round(wr * 2 ** 60)) * SCALE / 2n ** 60n - c)
      const di = toNumber(BigInt(Math.round(wi * 2 ** 60)) * SCALE / 2n ** 60n + s)
      worst = Math.max(worst, Math.hypot(dr, di))
    }
    for (let j = 0; j < 4096; j++) check(8192, j)
    const n = 2 ** 21
    // all octant boundaries, plus a spread of indices
    for (const j of [1, n / 8 - 1, n / 8, n / 8 + 1, n / 4 - 1, n / 4, n / 4 + 1, 3 * (n / 8), n / 2 - 1]) check(n, j)
    for (let k = 0; k < 3000; k++) check(n, Math.floor(((k * 7919) % 1_000_003) * (n / 2 / 1_000_003)))
    expect(worst).toBeLessThanOrEqual(TWIDDLE_ERROR)
    // and the check can fail: a twiddle off by 1e-15 would be caught
    expect(worst).toBeGreaterThan(0)
  }, 60_000)
})

/** The textbook iterative radix-2 decimation-in-time FFT (bit reversal, then stages). */
const textbook = (x: Float64Array, sign: 1 | -1): Float64Array => {
  const n = x.length / 2
  const bits = Math.round(Math.log2(n))
  const y = new Float64Array(2 * n)
  for (let i = 0; i < n; i++) {
    let r = 0
    for (let b = 0, v = i; b < bits; b++, v >>>= 1) r = (r << 1) | (v & 1)
    y[2 * r] = x[2 * i]!
    y[2 * r + 1] = x[2 * i + 1]!
  }
  for (let span = 2; span <= n; span *= 2) {
    const half = span / 2
    for (let start = 0; start < n; start += span) {
      for (let j = 0; j < half; j++) {
        const [c, s] = twiddle(n, j * (n / span))
        const wr = c
        const wi = sign === -1 ? s : -s
        const k = 2 * (start + j)
        const m = k + 2 * half
        const tr = wr * y[m]! - wi * y[m + 1]!
        const ti = wr * y[m + 1]! + wi * y[m]!
        const ur = y[k]!
        const ui = y[k + 1]!
        y[k] = ur + tr
        y[k + 1] = ui + ti
        y[m] = ur - tr
        y[m + 1] = ui - ti
      }
    }
  }
  return y
}


describe("FFT arithmetic", () => {
  it("is bit-identical to the textbook radix-2 algorithm (so Higham's Theorem 24.2 applies)", () => {
    for (const bits of [1, 2, 3, 10, 11, 12, 13, 14]) {
      const n = 2 ** bits
      const x = random(2 * n, bits)
      for (const sign of [-1, 1] as const) {
        const y = x.slice()
        if (sign === -1) transform(y)
        else {
          inverseTransform(y)
          for (let i = 0; i < y.length; i++) y[i] = y[i]! * n
        }
        const ref = textbook(x, sign)
        let same = true
        for (let i = 0; i < y.length; i++) if (y[i] !== ref[i]) same = false
        expect(same, `n = ${n}, sign ${sign}`).toBe(true)
      }
    }
  })

  it("meets the relative 2-norm bound against a naive DFT in extended precision", () => {
    const n = 512
    const x = random(2 * n, 7)
    const y = x.slice()
    transform(y)
    // naive DFT with exact (45-digit) twiddles and BigInt accumulation (fixed point 1e45)
    let err2 = 0
    let norm2 = 0
    const xs = Array.from(x, (v) => BigInt(Math.round(v * 2 ** 52)))
    const table = Array.from({ length: n }, (_, j) => cosSinExact(n, j % n))
    for (let k = 0; k < n; k++) {
      let re = 0n
      let im = 0n
      for (let j = 0; j < n; j++) {
        const [c, s] = table[(j * k) % n]!
        // (xr + i xi)(c - i s)
        re += xs[2 * j]! * c + xs[2 * j + 1]! * s
        im += xs[2 * j + 1]! * c - xs[2 * j]! * s
      }
      const er = Number(re / 2n ** 20n) / 2 ** 32 / 1e45
      const ei = Number(im / 2n ** 20n) / 2 ** 32 / 1e45
      err2 += (y[2 * k]! - er) ** 2 + (y[2 * k + 1]! - ei) ** 2
      norm2 += er * er + ei * ei
    }
    const observed = Math.sqrt(err2 / norm2)
    expect(observed).toBeLessThanOrEqual(fftRelativeError(n))
    expect(observed).toBeGreaterThan(0)
  }, 60_000)
})
