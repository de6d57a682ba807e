/**
 * The epsilon the training progress line shows: the run's epsilon by the pipeline's
 * authoritative accountant (PLD), the figure the budget and the privacy statement use,
 * without a PLD evaluation per step (one takes a large fraction of a second; a step can
 * take milliseconds).
 *
 * Exact values (anchors) come from the privacy ledger's check, which the training stage
 * makes anyway at step 1 and at its last step (the budget guard), and at a checkpoint when
 * one more check is cheap next to the training time since the last one (train.ts).
 * Between the anchors a < t < b known at step t, the shown value is the RDP epsilon of t
 * steps (cheap: one step's RDP curve times t, Mironov 2017, Prop. 1) times the ratio
 * PLD/RDP interpolated linearly in log t between the ratios at a and b, and is marked as
 * an estimate. It equals the PLD value at every anchor (at the end it is exactly the run's
 * epsilon) and is smooth in between. The ratio rises concavely in log t, so the estimate
 * falls a little below the PLD value: by at most about 6% on the shipped presets with the
 * anchors 1 and T alone (measured in test/runtime/privacy-presentation-progress.test.ts),
 * less with checkpoint anchors. Where RDP does not apply (truncated Poisson) the anchors
 * are interpolated linearly in (log t, log epsilon). Nothing here decides anything: the
 * budget guard uses exact ledger checks.
 */

export interface EpsilonProgress {
  /** Records the exact epsilon after `steps` steps (a ledger check). */
  readonly anchor: (steps: number, epsilon: number) => void
  /** The epsilon shown after `steps` steps: exact at an anchor, estimated between (NaN before any anchor). */
  readonly at: (steps: number) => { readonly epsilon: number; readonly exact: boolean }
}

/** `rdpAt(t)`: the RDP epsilon of t steps at the same delta, or undefined when RDP does not apply. */
export const epsilonProgress = (rdpAt: ((steps: number) => number) | undefined): EpsilonProgress => {
  const anchors = new Map<number, number>()
  const ratioAt = (t: number): number | undefined => {
    const e = anchors.get(t)
    const r = rdpAt?.(t)
    return e !== undefined && r !== undefined && Number.isFinite(r) && r > 0 ? e / r : undefined
  }
  return {
    anchor: (steps, epsilon) => {
      if (steps >= 1 && Number.isFinite(epsilon) && epsilon > 0) anchors.set(steps, epsilon)
    },
    at: (steps) => {
      const exact = anchors.get(steps)
      if (exact !== undefined) return { epsilon: exact, exact: true }
      const ts = [...anchors.keys()].sort((x, y) => x - y)
      const below = ts.filter((t) => t < steps).at(-1)
      const above = ts.find((t) => t > steps)
      if (below === undefined && above === undefined) return { epsilon: Number.NaN, exact: false }
      // Outside the anchors the nearest one's ratio (or value) carries over.
      const a = below ?? above!
      const b = above ?? below!
      const w = a === b ? 0 : (Math.log(steps) - Math.log(a)) / (Math.log(b) - Math.log(a))
      const ra = ratioAt(a)
      const rb = ratioAt(b)
      const epsilon = ra !== undefined && rb !== undefined
        ? rdpAt!(steps) * Math.exp((1 - w) * Math.log(ra) + w * Math.log(rb))
        : Math.exp((1 - w) * Math.log(anchors.get(a)!) + w * Math.log(anchors.get(b)!))
      return { epsilon, exact: false }
    }
  }
}
