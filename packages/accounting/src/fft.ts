/**
 * Radix-2 complex FFT whose floating-point error has a published bound.
 *
 * Why not a library (the project used fft.js before): a guaranteed upper bound on a composed
 * PLD needs a bound on the FFT's rounding error, and such bounds are proved for specific
 * arithmetic. Higham, "Accuracy and Stability of Numerical Algorithms" (2nd ed., SIAM 2002),
 * Theorem 24.2: for the iterative Cooley-Tukey radix-2 FFT of length n = 2^t whose computed
 * twiddles satisfy |w^ - w| <= mu, the computed y^ = fl(F x) satisfies
 *
 *     ||y^ - y||_2 <= ||y||_2 * t eta / (1 - t eta),   eta = mu + gamma_4 (sqrt(2) + mu),
 *
 * with gamma_k = k u / (1 - k u), u = 2^-53, under the standard model of IEEE arithmetic and
 * the conventional complex product (real part ac - bd, imaginary ad + bc). fft.js uses radix-4
 * kernels and a table of cos/sin at arguments up to 2 pi, which that theorem does not cover.
 * This module does exactly the operations of the theorem: bit reversal, then t stages of
 * butterflies (y_k = x_k + w x_m, y_m = x_k - w x_m), each product the conventional one.
 * JavaScript rounds every operation separately (no fused multiply-add), as the model assumes.
 *
 * Twiddles: w_j = exp(-2 pi i j / n) for j < n/2 from angles in the first octant only
 * (theta <= pi/4), mapped to the other octants by exact swaps and sign changes. The computed
 * angle fl(fl(2 pi) * (j/n)) (j/n is exact) is within 2u theta <= 1.75e-16 of theta, and
 * Math.cos / Math.sin (V8: fdlibm) are accurate to within one ulp (<= 1.12e-16 on [0, 1]):
 * each component is within 2.9e-16, the complex twiddle within 4.1e-16. We use
 * mu = TWIDDLE_ERROR = 5e-16; test/accounting/fft.test.ts checks twiddles against a
 * 45-digit evaluation.
 *
 * Data layout: interleaved [re0, im0, re1, im1, ...] in a Float64Array of length 2n.
 */
import { gamma } from "@dpipe/accounting/internal/rounding"

/** Bound on |w^ - w| for every twiddle this module computes (see the header). */
export const TWIDDLE_ERROR = 5e-16

/**
 * Relative 2-norm error bound of `transform` / `inverseTransform` (before the 1/n scaling,
 * which is exact) for length n = 2^t: t eta / (1 - t eta) (Higham, Theorem 24.2).
 */
export const fftRelativeError = (n: number): number => {
  const t = Math.round(Math.log2(n))
  const eta = TWIDDLE_ERROR + gamma(4) * (Math.SQRT2 + TWIDDLE_ERROR)
  return (t * eta) / (1 - t * eta)
}

/**
 * Twiddles of every stage, stored stage after stage so that each stage reads them
 * contiguously: stage s (butterfly span 2^s) uses exp(-2 pi i j / 2^s), j < 2^(s-1), which
 * equals the length-n twiddle with index j n / 2^s (the same float64 values).
 */
interface Plan {
  readonly n: number
  readonly bits: number
  /** cos of the twiddles, stage by stage (stage s starts at 2^(s-1) - 1) */
  readonly cos: Float64Array
  /** sin of the angle (the forward twiddle is cos - i sin) */
  readonly sin: Float64Array
  readonly reversed: Uint32Array
}

const plans = new Map<number, Plan>()

/** Points per cache block (2^11 complex = 32 KiB). */
const BLOCK_BITS = 11

/** cos and sin of 2 pi j / n for j < n/2, from first-octant angles (see the header). */
const quadrantTable = (n: number): { readonly c: Float64Array; readonly s: Float64Array } => {
  const half = n / 2
  const c = new Float64Array(Math.max(1, half))
  const s = new Float64Array(Math.max(1, half))
  const twoPi = 2 * Math.PI
  // first octant directly, the rest of the first quadrant by swapping
  const base = (j: number): readonly [number, number] => {
    if (8 * j <= n) {
      const theta = twoPi * (j / n)
      return [Math.cos(theta), Math.sin(theta)]
    }
    // theta = pi/2 - theta', j' = n/4 - j <= n/8
    const jp = n / 4 - j
    const theta = twoPi * (jp / n)
    return [Math.sin(theta), Math.cos(theta)]
  }
  for (let j = 0; j < half; j++) {
    if (4 * j <= n) {
      const [cj, sj] = base(j)
      c[j] = cj
      s[j] = sj
    } else {
      // theta = pi/2 + theta'', j'' = j - n/4 in (0, n/4): cos = -sin'', sin = cos''
      const [cj, sj] = base(j - n / 4)
      c[j] = -sj
      s[j] = cj
    }
  }
  return { c, s }
}

const planOf = (n: number): Plan => {
  const cached = plans.get(n)
  if (cached !== undefined) return cached
  if (n < 1 || (n & (n - 1)) !== 0) throw new RangeError(`FFT length must be a power of two, got ${n}`)
  const bits = Math.round(Math.log2(n))
  const { c: qc, s: qs } = quadrantTable(n)
  const cos = new Float64Array(Math.max(1, n - 1))
  const sin = new Float64Array(Math.max(1, n - 1))
  for (let s = 1; s <= bits; s++) {
    const span = 2 ** s
    const offset = span / 2 - 1
    const stride = n / span
    for (let j = 0; j < span / 2; j++) {
      cos[offset + j] = qc[j * stride] ?? 1
      sin[offset + j] = qs[j * stride] ?? 0
    }
  }
  const reversed = new Uint32Array(n)
  for (let i = 0; i < n; i++) {
    let r = 0
    for (let b = 0, x = i; b < bits; b++, x >>>= 1) r = (r << 1) | (x & 1)
    reversed[i] = r >>> 0
  }
  if (plans.size > 4) plans.clear()
  const plan: Plan = { n, bits, cos, sin, reversed }
  plans.set(n, plan)
  return plan
}

/** The twiddle exp(-2 pi i j / n) as this module computes it (for tests). */
export const twiddle = (n: number, j: number): readonly [number, number] => {
  const p = planOf(n)
  const i = n / 2 - 1 + j
  return [p.cos[i] ?? 1, -(p.sin[i] ?? 0)]
}

/**
 * One radix-2 stage (butterfly span 2 * half), for every block of the array.
 * All indices are into the interleaved array.
 */
const stage = (data: Float64Array, from: number, to: number, half: number, cos: Float64Array, sin: Float64Array, sign: number): void => {
  const offset = half - 1
  const span = 4 * half
  for (let start = from; start < to; start += span) {
    for (let j = 0; j < half; j++) {
      const wr = cos[offset + j]!
      const wi = sign * sin[offset + j]!
      const k = start + 2 * j
      const m = k + 2 * half
      const xr = data[m]!
      const xi = data[m + 1]!
      const tr = wr * xr - wi * xi
      const ti = wr * xi + wi * xr
      const ur = data[k]!
      const ui = data[k + 1]!
      data[k] = ur + tr
      data[k + 1] = ui + ti
      data[m] = ur - tr
      data[m + 1] = ui - ti
    }
  }
}

/**
 * Two consecutive radix-2 stages (spans 2h and 4h) in one pass over memory. The arithmetic is
 * exactly that of the two stages run one after the other (each element goes through the same
 * butterflies with the same twiddles, in the same order), so Theorem 24.2 applies unchanged;
 * only the loop order differs, halving the passes over arrays larger than the cache.
 */
const stagePair = (data: Float64Array, from: number, to: number, h: number, cos: Float64Array, sin: Float64Array, sign: number): void => {
  const o1 = h - 1
  const o2 = 2 * h - 1
  const span = 8 * h
  const q = 2 * h
  for (let start = from; start < to; start += span) {
    for (let j = 0; j < h; j++) {
      const a = start + 2 * j
      const b = a + q
      const c = b + q
      const d = c + q
      // first stage: (a, b) and (c, d) with twiddle j of span 2h
      const w1r = cos[o1 + j]!
      const w1i = sign * sin[o1 + j]!
      let xr = data[b]!
      let xi = data[b + 1]!
      let tr = w1r * xr - w1i * xi
      let ti = w1r * xi + w1i * xr
      let ur = data[a]!
      let ui = data[a + 1]!
      const ar = ur + tr
      const ai = ui + ti
      const br = ur - tr
      const bi = ui - ti
      xr = data[d]!
      xi = data[d + 1]!
      tr = w1r * xr - w1i * xi
      ti = w1r * xi + w1i * xr
      ur = data[c]!
      ui = data[c + 1]!
      const cr = ur + tr
      const ci = ui + ti
      const dr = ur - tr
      const di = ui - ti
      // second stage: (a, c) with twiddle j, (b, d) with twiddle j + h of span 4h
      const w2r = cos[o2 + j]!
      const w2i = sign * sin[o2 + j]!
      tr = w2r * cr - w2i * ci
      ti = w2r * ci + w2i * cr
      data[a] = ar + tr
      data[a + 1] = ai + ti
      data[c] = ar - tr
      data[c + 1] = ai - ti
      const w3r = cos[o2 + h + j]!
      const w3i = sign * sin[o2 + h + j]!
      tr = w3r * dr - w3i * di
      ti = w3r * di + w3i * dr
      data[b] = br + tr
      data[b + 1] = bi + ti
      data[d] = br - tr
      data[d + 1] = bi - ti
    }
  }
}

/**
 * Stage 1 (twiddle 1): w x = x exactly, so y = x_k +- x_m are the general butterfly's values.
 */
const firstStage = (data: Float64Array, from: number, to: number): void => {
  for (let a = from; a < to; a += 4) {
    const ur = data[a]!
    const ui = data[a + 1]!
    const xr = data[a + 2]!
    const xi = data[a + 3]!
    data[a] = ur + xr
    data[a + 1] = ui + xi
    data[a + 2] = ur - xr
    data[a + 3] = ui - xi
  }
}

/**
 * Stages 1 and 2 together. Their twiddles are 1 and -+i exactly (the table holds cos = 0,
 * sin = 1 for a quarter turn), and (0 - +1 i)(x + i y) computed by the conventional product is
 * exactly (+-y, -+x): the same values the general butterflies produce.
 */
const firstPair = (data: Float64Array, from: number, to: number, sign: number): void => {
  for (let a = from; a < to; a += 8) {
    const x0r = data[a]!, x0i = data[a + 1]!, x1r = data[a + 2]!, x1i = data[a + 3]!
    const x2r = data[a + 4]!, x2i = data[a + 5]!, x3r = data[a + 6]!, x3i = data[a + 7]!
    const ar = x0r + x1r, ai = x0i + x1i, br = x0r - x1r, bi = x0i - x1i
    const cr = x2r + x3r, ci = x2i + x3i, dr = x2r - x3r, di = x2i - x3i
    // t = w d with w = (0, sign): (0 dr - sign di, 0 di + sign dr)
    const tr = -sign * di
    const ti = sign * dr
    data[a] = ar + cr
    data[a + 1] = ai + ci
    data[a + 4] = ar - cr
    data[a + 5] = ai - ci
    data[a + 2] = br + tr
    data[a + 3] = bi + ti
    data[a + 6] = br - tr
    data[a + 7] = bi - ti
  }
}

/** In-place radix-2 transform; sign -1: forward (e^{-i...}), +1: unnormalized inverse. */
const run = (data: Float64Array, n: number, sign: 1 | -1): void => {
  const { reversed } = planOf(n)
  for (let i = 0; i < n; i++) {
    const r = reversed[i]!
    if (r > i) {
      const ar = data[2 * i]!
      const ai = data[2 * i + 1]!
      data[2 * i] = data[2 * r]!
      data[2 * i + 1] = data[2 * r + 1]!
      data[2 * r] = ar
      data[2 * r + 1] = ai
    }
  }
  butterflies(data, n, sign)
}

/** The butterfly stages of the transform, on input already in bit-reversed order. */
const butterflies = (data: Float64Array, n: number, sign: 1 | -1): void => {
  const { cos, sin, bits } = planOf(n)
  // Stages whose butterflies stay inside blocks of 2^BLOCK_BITS points run block by block
  // (the block stays in cache); the later ones in passes of two stages over the whole array.
  const inner = Math.min(bits, BLOCK_BITS)
  const blockLen = 2 * 2 ** inner
  for (let from = 0; from < 2 * n; from += blockLen) stages(data, from, from + blockLen, 1, inner, cos, sin, sign)
  stages(data, 0, 2 * n, inner + 1, bits, cos, sin, sign)
}

/** Stages first..last (spans 2^first..2^last) on data[from, to), in pairs where possible. */
const stages = (
  data: Float64Array,
  from: number,
  to: number,
  first: number,
  last: number,
  cos: Float64Array,
  sin: Float64Array,
  sign: number
): void => {
  let s = first
  if ((last - first + 1) % 2 === 1) {
    if (s === 1) firstStage(data, from, to)
    else stage(data, from, to, 2 ** (s - 1), cos, sin, sign)
    s++
  } else if (s === 1 && last >= 2) {
    firstPair(data, from, to, sign)
    s += 2
  }
  for (; s < last; s += 2) stagePair(data, from, to, 2 ** (s - 1), cos, sin, sign)
}

/** The bit-reversal permutation of 0..n-1 (n a power of two). */
export const bitReversal = (n: number): Uint32Array => planOf(n).reversed

/**
 * Transform of data whose points were stored in bit-reversed order (point j at index
 * bitReversal(n)[j]): the output is in natural order. Saves the in-place permutation when the
 * caller can write its input permuted. sign -1 forward, +1 inverse WITHOUT the 1/n scaling
 * (scaling the input by 1/n instead is exact, powers of two commute with every rounding).
 */
export const transformPermuted = (data: Float64Array, sign: 1 | -1): void => butterflies(data, data.length / 2, sign)

/** Forward DFT in place: X_k = sum_j x_j e^{-2 pi i jk/n}. `data` holds n interleaved complex values. */
export const transform = (data: Float64Array): void => run(data, data.length / 2, -1)

/** Inverse DFT in place, including the exact 1/n scaling (n is a power of two). */
export const inverseTransform = (data: Float64Array): void => {
  const n = data.length / 2
  run(data, n, 1)
  const scale = 1 / n
  for (let i = 0; i < data.length; i++) data[i] = (data[i] ?? 0) * scale
}
