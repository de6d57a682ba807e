/**
 * Convolution of non-negative arrays with guaranteed elementwise upper bounds, two at a time
 * (the remove and add directions of a PLD pair share each FFT).
 *
 * The FFT part uses fft.ts (radix-2, Higham 2002 Thm. 24.2) and convolutionErrorBound below
 * turns its proved error bound into a bound E on every output entry; the narrow head of a
 * spiky operand is convolved directly instead (relative error gamma_k), since E scales with
 * the operands' norms and would swamp small entries next to a spike.
 */
import { bitReversal, fftRelativeError, transformPermuted } from "@dpipe/accounting/fft"
import { gamma, sumUpper, UNIT_ROUNDOFF as U, UP } from "@dpipe/accounting/internal/rounding"

/** 1- and 2-norms of a non-negative vector, rounded up. */
const norms = (x: Float64Array): { readonly l1: number; readonly l2: number } => {
  let s1 = 0
  let s2 = 0
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!
    s1 += v
    s2 += v * v
  }
  // s2: n products (1 rounding each) then a sum; sqrt adds half an ulp
  return { l1: sumUpper(s1, x.length), l2: Math.sqrt(sumUpper(s2, x.length) * UP) * UP }
}

/**
 * Bound E on |c^_i - c_i| for every entry of the two convolutions c0 = a0 * b0, c1 = a1 * b1
 * (non-negative real operands, zero-padded to the FFT length N = 2^t) computed as convolvePair
 * does: Z = FFT(a0 + i a1), the spectra of a0 and a1 unpacked from Z (and likewise for b),
 * multiplied pointwise, repacked as W = C0 + i C1, and w = IFFT(W) / N, c0 = Re w, c1 = Im w.
 *
 * With rho = fftRelativeError(N) (Higham Thm. 24.2), ||F x||_2 = sqrt(N) ||x||_2, and for
 * non-negative x, ||F x||_inf = ||x||_1 (every coefficient is at most the DC one):
 * - forward: ||Z^ - Z|| <= eZ = rho sqrt(N) ||(a0, a1)||_2;
 * - unpacking A0 = (Z_k + conj Z_{-k}) / 2 (one rounded addition per component, /2 exact):
 *   eA0 = eZ + u (sqrt(N) ||a0|| + eZ), and ||A0^||_inf <= ||a0||_1 + eA0;
 * - product (conventional complex product, |fl(xy) - xy| <= sqrt(2) gamma_2 |x||y|, Higham
 *   Lemma 3.5): A^B^ - AB = (A^ - A) B^ + A (B^ - B), so
 *   eC0 = eA0 ||B0^||_inf + ||a0||_1 eB0 + sqrt(2) gamma_2 ||A0^||_2 ||B0^||_inf;
 * - repacking (one rounded addition per component): eW = eC0 + eC1 + u (||C0^|| + ||C1^||);
 * - inverse: ||w^ - w||_2 <= (rho ||F* W^|| + ||F*(W^ - W)||) / N = (rho ||W^|| + eW) / sqrt(N),
 *   which bounds every entry. A tiny absolute term covers gradual underflow.
 * Each bound is evaluated with a relative margin (1e-6) for its own rounding.
 */
export const convolutionErrorBound = (
  n: number,
  a: readonly [{ readonly l1: number; readonly l2: number }, { readonly l1: number; readonly l2: number }],
  b: readonly [{ readonly l1: number; readonly l2: number }, { readonly l1: number; readonly l2: number }]
): number => {
  const rho = fftRelativeError(n)
  const rn = Math.sqrt(n)
  const eZa = rho * rn * Math.hypot(a[0].l2, a[1].l2)
  const eZb = rho * rn * Math.hypot(b[0].l2, b[1].l2)
  const g2 = Math.SQRT2 * gamma(2)
  const part = (d: 0 | 1) => {
    const eA = eZa + U * (rn * a[d].l2 + eZa)
    const eB = eZb + U * (rn * b[d].l2 + eZb)
    const bInf = b[d].l1 + eB
    const a2 = rn * a[d].l2 + eA
    const eC = eA * bInf + a[d].l1 * eB + g2 * a2 * bInf
    const c2 = rn * Math.min(a[d].l2 * b[d].l1, a[d].l1 * b[d].l2) + eC
    return { eC, c2 }
  }
  const p0 = part(0)
  const p1 = part(1)
  const eW = p0.eC + p1.eC + U * (p0.c2 + p1.c2)
  const w2 = p0.c2 + p1.c2 + eW
  return ((rho * w2 + eW) / rn) * (1 + 1e-6) + 1e-300
}

/** Packs two real sequences into one complex input of size n, in bit-reversed order. */
const pack = (x: Float64Array, y: Float64Array, n: number): Float64Array => {
  const z = new Float64Array(2 * n)
  const rev = bitReversal(n)
  const nx = x.length
  const ny = y.length
  // gather (sequential writes): position j holds point rev[j]
  for (let j = 0; j < n; j++) {
    const i = rev[j]!
    if (i < nx) z[2 * j] = x[i]!
    if (i < ny) z[2 * j + 1] = y[i]!
  }
  return z
}

/** Widest head (entries) convolved directly (step 2b of the header): wider is tighter and slower. */
const HEAD_MAX = 64
/** A head holds the entries above this fraction of the largest one (contiguous, around it). */
const HEAD_LEVEL = 1e-4

/** A tilted array split into a narrow head (a window around its largest entry) and the rest. */
interface Split {
  readonly head: Float64Array
  readonly start: number
  readonly tail: Float64Array
}

/**
 * Splits off the head when it holds at least half of the array's total weight (a spiky PLD,
 * like one step of a subsampled Gaussian at a small rate); otherwise the head is empty.
 */
const splitHead = (w: Float64Array): Split => {
  let arg = 0
  let total = 0
  for (let i = 0; i < w.length; i++) {
    const x = w[i]!
    total += x
    if (x > w[arg]!) arg = i
  }
  const level = HEAD_LEVEL * w[arg]!
  let s = arg
  let e = arg + 1
  while (e - s < HEAD_MAX && ((s > 0 && w[s - 1]! >= level) || (e < w.length && w[e]! >= level))) {
    if (s > 0 && w[s - 1]! >= level && (e >= w.length || w[s - 1]! >= w[e]!)) s--
    else e++
  }
  let headMass = 0
  for (let i = s; i < e; i++) headMass += w[i]!
  if (!(headMass >= 0.5 * total) || w.length <= 4 * HEAD_MAX) return { head: new Float64Array(0), start: 0, tail: w }
  const tail = w.slice()
  tail.fill(0, s, e)
  return { head: w.slice(s, e), start: s, tail }
}

/**
 * Direct part of a * b for split operands: head_a * b + tail_a * head_b (the rest, tail_a *
 * tail_b, goes through the FFT). Each output entry is a sum of at most |head_a| + |head_b|
 * non-negative products, so the computed value is within gamma_{k+1} (relative) of the exact
 * one (Higham, eq. 4.4): returned rounded up.
 */
const directPart = (sa: Split, b: Float64Array, sb: Split, lenA: number, len: number): Float64Array => {
  const out = new Float64Array(len)
  if (sa.head.length === 0 && sb.head.length === 0) return out
  const ha = sa.head
  for (let j = 0; j < ha.length; j++) {
    const hj = ha[j]!
    const base = sa.start + j
    for (let m = 0; m < b.length; m++) out[base + m] = out[base + m]! + hj * b[m]!
  }
  const hb = sb.head
  const ta = sa.tail
  for (let k = 0; k < hb.length; k++) {
    const hk = hb[k]!
    const base = sb.start + k
    for (let m = 0; m < lenA; m++) out[base + m] = out[base + m]! + ta[m]! * hk
  }
  const f = (1 + gamma(ha.length + hb.length + 2)) * UP
  for (let i = 0; i < len; i++) out[i] = out[i]! * f
  return out
}

/** Two non-negative arrays convolved together (the remove and add directions). */
export type Operand = readonly [Float64Array, Float64Array]

/** An operand's split, the FFT of its tails (packed, length n) and their norms. */
interface Spectrum {
  readonly n: number
  readonly second: Float64Array
  readonly split: readonly [Split, Split]
  readonly spectrum: Float64Array
  readonly norms: readonly [{ readonly l1: number; readonly l2: number }, { readonly l1: number; readonly l2: number }]
}

/**
 * Spectra are kept per operand (keyed by its arrays): in binary powering the power is
 * multiplied into the result and then squared, usually at the same FFT length, so its
 * transform is computed once.
 */
const spectra = new WeakMap<Float64Array, Spectrum>()

const spectrumOf = (x: Operand, n: number): Spectrum => {
  const cached = spectra.get(x[0])
  if (cached !== undefined && cached.n === n && cached.second === x[1]) return cached
  const split = [splitHead(x[0]), splitHead(x[1])] as const
  const spectrum = pack(split[0].tail, split[1].tail, n)
  transformPermuted(spectrum, -1)
  const result: Spectrum = { n, second: x[1], split, spectrum, norms: [norms(split[0].tail), norms(split[1].tail)] }
  spectra.set(x[0], result)
  return result
}

/**
 * Elementwise upper bounds of the two convolutions a0 * b0 and a1 * b1 of non-negative arrays
 * (b = "square": a0 * a0, a1 * a1): heads directly, tails by one packed FFT per operand and
 * one inverse, each entry of the tails' convolution raised by the bound E of
 * convolutionErrorBound. Returns the bounds and E.
 */
export const convolveUpper = (a: Operand, b: Operand | "square"): { readonly upper: Operand; readonly roundingBound: number } => {
  const bb = b === "square" ? a : b
  const len0 = a[0].length + bb[0].length - 1
  const len1 = a[1].length + bb[1].length - 1
  let n = 2
  while (n < Math.max(len0, len1)) n *= 2
  const A = spectrumOf(a, n)
  const B = b === "square" ? A : spectrumOf(b, n)
  const { split: sa, spectrum: fa, norms: na } = A
  const { split: sb, spectrum: fb, norms: nb } = B
  const E = convolutionErrorBound(n, na, nb)
  // W / n, stored bit-reversed for the inverse transform (scaling by 1/n = 2^-t is exact)
  const prod = new Float64Array(2 * n)
  const rev = bitReversal(n)
  const scale = 1 / n
  for (let k = 0; k < n; k++) {
    const km = (n - k) % n
    const p = fa[2 * k]!, q = fa[2 * k + 1]!, r = fa[2 * km]!, s = fa[2 * km + 1]!
    const a0r = (p + r) / 2, a0i = (q - s) / 2, a1r = (q + s) / 2, a1i = -(p - r) / 2
    const p2 = fb[2 * k]!, q2 = fb[2 * k + 1]!, r2 = fb[2 * km]!, s2 = fb[2 * km + 1]!
    const b0r = (p2 + r2) / 2, b0i = (q2 - s2) / 2, b1r = (q2 + s2) / 2, b1i = -(p2 - r2) / 2
    const c0r = a0r * b0r - a0i * b0i, c0i = a0r * b0i + a0i * b0r
    const c1r = a1r * b1r - a1i * b1i, c1i = a1r * b1i + a1i * b1r
    // W = C0 + i C1
    const at = 2 * rev[k]!
    prod[at] = (c0r - c1i) * scale
    prod[at + 1] = (c0i + c1r) * scale
  }
  transformPermuted(prod, 1)
  const direction = (d: 0 | 1, len: number): Float64Array => {
    // fl(fl(c^ + E) * UP) >= c^ + E >= c for the tails, plus the direct part (rounded up)
    const v = directPart(sa[d], bb[d], sb[d], a[d].length, len)
    for (let i = 0; i < len; i++) v[i] = (v[i]! + (prod[2 * i + d]! + E) * UP) * UP
    return v
  }
  return { upper: [direction(0, len0), direction(1, len1)], roundingBound: E }
}

