/**
 * One-run privacy auditing: a lower bound on epsilon from membership guesses on canaries
 * (Steinke, Nasr and Jagielski 2023, "Privacy Auditing with One (1) Training Run",
 * NeurIPS 2023, arXiv:2305.08846).
 *
 * m canaries are each included in training independently with probability 1/2. After one
 * training run the auditor scores every canary, guesses "in" for the k+ highest scores and
 * "out" for the k- lowest, and abstains on the rest: r = k+ + k- guesses, v of them correct.
 * Under (eps, delta)-DP, Corollary 5.4 bounds the chance of v or more correct guesses by
 *
 *   p(eps, delta) = P[W >= v] + alpha * delta * 2m,   W ~ Binomial(r, e^eps / (1 + e^eps)),
 *   alpha = max_{i = 1..v} P[v - i <= W < v] / i
 *
 * (the paper's Appendix D, `p_value_DP_audit`). The audit's lower bound at confidence 1 - beta
 * is the largest eps whose p-value is below beta: the run is then not (eps, delta)-DP unless
 * an event of probability below beta happened. As in Appendix D (`get_eps_audit`) the search
 * brackets eps by steps of 1 and bisects, returning the low end, so the reported bound is never
 * above the exact root. k+ and k- must be fixed before the scores are seen (choosing them
 * after looking would need a correction for the choice).
 */
import { logGamma } from "@dpipe/accounting/special"

/** log C(n, k). */
const logChoose = (n: number, k: number): number => logGamma(n + 1) - logGamma(k + 1) - logGamma(n - k + 1)

/** P[Binomial(r, q) = k] for every k = 0..r, from log space (stable at large r). */
export const binomialPmf = (r: number, q: number): Float64Array => {
  const out = new Float64Array(r + 1)
  const lq = Math.log(q)
  const l1q = Math.log1p(-q)
  for (let k = 0; k <= r; k++) {
    const lp = logChoose(r, k) + (k === 0 ? 0 : k * lq) + (k === r ? 0 : (r - k) * l1q)
    out[k] = Math.exp(lp)
  }
  return out
}

const checkCounts = (m: number, r: number, v: number): void => {
  if (!(Number.isInteger(m) && Number.isInteger(r) && Number.isInteger(v) && 0 <= v && v <= r && r <= m)) {
    throw new RangeError(`the audit needs integers 0 <= correct (${v}) <= guesses (${r}) <= canaries (${m})`)
  }
}

/**
 * The p-value of v correct guesses out of r, with m canaries, under (eps, delta)-DP
 * (Corollary 5.4; Appendix D's `p_value_DP_audit`).
 */
export const oneRunPValue = (m: number, r: number, v: number, epsilon: number, delta: number): number => {
  checkCounts(m, r, v)
  if (!(epsilon >= 0)) throw new RangeError(`epsilon must be >= 0, got ${epsilon}`)
  if (!(delta >= 0 && delta <= 1)) throw new RangeError(`delta must be in [0, 1], got ${delta}`)
  const q = 1 / (1 + Math.exp(-epsilon))
  const pmf = binomialPmf(r, q)
  let beta = 0
  for (let k = r; k >= v; k--) beta += pmf[k] as number
  if (delta === 0) return Math.min(1, beta)
  let alpha = 0
  let sum = 0 // P[v - i <= W < v]
  for (let i = 1; i <= v; i++) {
    sum += pmf[v - i] as number
    if (sum > i * alpha) alpha = sum / i
  }
  return Math.min(1, beta + alpha * delta * 2 * m)
}

/**
 * The largest epsilon (to within 2^-40) that the observation rejects at level `beta`
 * (confidence 1 - beta): with probability at least 1 - beta the run is not
 * (epsilon, delta)-DP for any smaller epsilon. 0 when nothing is rejected.
 */
export const oneRunEpsilonLowerBound = (m: number, r: number, v: number, delta: number, beta: number): number => {
  checkCounts(m, r, v)
  if (!(beta > 0 && beta < 1)) throw new RangeError(`the confidence level beta must be in (0, 1) (0.05 for 95% confidence), got ${beta}`)
  if (oneRunPValue(m, r, v, 0, delta) >= beta) return 0
  let lo = 0 // p(lo) < beta
  let hi = 1 // p(hi) >= beta
  while (oneRunPValue(m, r, v, hi, delta) < beta) {
    lo = hi
    hi += 1
    if (hi > 1e4) return lo
  }
  for (let i = 0; i < 40; i++) {
    const mid = (lo + hi) / 2
    if (oneRunPValue(m, r, v, mid, delta) < beta) lo = mid
    else hi = mid
  }
  return lo
}

export interface OneRunAudit {
  /** Canaries (each included with probability 1/2). */
  readonly canaries: number
  readonly included: number
  readonly guessesIn: number
  readonly guessesOut: number
  readonly correct: number
  readonly delta: number
  /** 1 - beta. */
  readonly confidence: number
  readonly epsilonLowerBound: number
}

/**
 * Guesses "in" for the `kPlus` highest scores and "out" for the `kMinus` lowest (ties broken
 * by index, so the guesses are a function of the scores alone), counts the correct ones and
 * returns the lower bound on epsilon at confidence 1 - beta.
 */
export const oneRunAudit = (args: {
  readonly scores: ArrayLike<number>
  readonly included: ArrayLike<boolean>
  readonly kPlus: number
  readonly kMinus: number
  readonly delta: number
  readonly beta: number
}): OneRunAudit => {
  const m = args.scores.length
  if (args.included.length !== m) throw new RangeError(`${m} scores but ${args.included.length} inclusion flags`)
  if (!(Number.isInteger(args.kPlus) && Number.isInteger(args.kMinus) && args.kPlus >= 0 && args.kMinus >= 0 && args.kPlus + args.kMinus <= m)) {
    throw new RangeError(`kPlus (${args.kPlus}) + kMinus (${args.kMinus}) guesses must be non-negative integers summing to at most the ${m} canaries`)
  }
  const order = Array.from({ length: m }, (_, i) => i)
  for (let i = 0; i < m; i++) if (!Number.isFinite(args.scores[i] as number)) throw new RangeError(`canary ${i} has a non-finite score`)
  order.sort((a, b) => (args.scores[b] as number) - (args.scores[a] as number) || a - b)
  let correct = 0
  for (let j = 0; j < args.kPlus; j++) if (args.included[order[j] as number]) correct++
  for (let j = 0; j < args.kMinus; j++) if (!args.included[order[m - 1 - j] as number]) correct++
  let included = 0
  for (let i = 0; i < m; i++) if (args.included[i]) included++
  const r = args.kPlus + args.kMinus
  return {
    canaries: m,
    included,
    guessesIn: args.kPlus,
    guessesOut: args.kMinus,
    correct,
    delta: args.delta,
    confidence: 1 - args.beta,
    epsilonLowerBound: oneRunEpsilonLowerBound(m, r, correct, args.delta, args.beta)
  }
}
