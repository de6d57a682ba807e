/**
 * Rounding helpers (the unit roundoff, gamma_k) for computations that must stay upper (or lower) bounds in float64: a
 * factor that undoes one rounding, the gamma_n bound on sums of non-negative terms (Higham
 * 2002, eq. 4.4), and the level below which underflow is assumed.
 */
/** Unit roundoff of float64. */
export const UNIT_ROUNDOFF = 2 ** -53
const U = UNIT_ROUNDOFF

/** gamma_k = k u / (1 - k u) (Higham, eq. 3.8): the relative error bound of k roundings. */
export const gamma = (k: number): number => (k * U) / (1 - k * U)

/** Rounds a non-negative computed value up past the rounding of its last operation. */
export const UP = 1 + 4 * U
/** Values below this are treated as possibly underflowed (an absolute bound is added). */
export const TINY = 1e-290

/** Upward bound of sum over n non-negative terms from their computed sum. */
export const sumUpper = (s: number, n: number): number => s * (1 + gamma(Math.max(1, n))) * UP
/** Downward bound likewise. */
export const sumLower = (s: number, n: number): number => s * (1 - gamma(Math.max(1, n))) * (1 - 4 * U)
