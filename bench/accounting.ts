/**
 * `pnpm bench accounting [--json]`: time per epsilon by each accountant in VaultGemma's
 * regime (q=4.08e-5, sigma=0.614, T=1e5, delta=1.1e-10), a DP-SGD regime (q=0.01,
 * sigma=1, T=1e4, delta=1e-5) and a small-noise one (q=0.0015, sigma=0.3, T=20, delta=1e-6),
 * plus two calibrations. Prints figures; asserts nothing.
 * PLD times: the first call in the process ("cold", includes JIT compilation of the
 * accountant) and the median of three more ("warm"). The PLD epsilon is a guaranteed upper
 * bound (pld-composition.ts); its FFT rounding bound relative to the largest entry is printed.
 * Reference: dp_accounting took ~0.05 s (RDP) and 1.6-3.6 s (PLD) per epsilon on this machine.
 */
import { Result } from "effect"
import {
  calibrateNoiseMultiplier,
  DEFAULT_RDP_ORDERS,
  epsilonFromRdp,
  pldEpsilon,
  poissonSampledGaussian,
  rdpOfEvent,
  selfComposed
} from "@dpipe/accounting/index"

const time = <A>(f: () => A): { readonly value: A; readonly seconds: number } => {
  const t0 = performance.now()
  const value = f()
  return { value, seconds: (performance.now() - t0) / 1000 }
}

export const main = async (argv: ReadonlyArray<string>): Promise<void> => {
  const json = argv.includes("--json")
  const cases = [
    { name: "vaultgemma", q: 4.08e-5, sigma: 0.614, steps: 100_000, delta: 1.1e-10 },
    { name: "dpsgd", q: 0.01, sigma: 1.0, steps: 10_000, delta: 1e-5 },
    // small noise multiplier (PLD used to return ~1e-13 here, taking 9 s and ~1 GB)
    { name: "smallsigma", q: 0.0015, sigma: 0.3, steps: 20, delta: 1e-6 }
  ] as const
  const results: Array<Record<string, unknown>> = []
  for (const c of cases) {
    const event = selfComposed(poissonSampledGaussian(c.q, c.sigma), c.steps)
    const rdp = time(() => {
      const r = Result.getOrThrow(rdpOfEvent(event))
      return epsilonFromRdp(DEFAULT_RDP_ORDERS, r, c.delta)
    })
    const pld = time(() => Result.getOrThrow(pldEpsilon(event, c.delta)))
    const warm = [0, 1, 2].map(() => time(() => Result.getOrThrow(pldEpsilon(event, c.delta))).seconds).sort((a, b) => a - b)[1] ?? NaN
    const stats = pld.value.stats
    results.push({
      case: c.name,
      rdp: { epsilon: rdp.value.epsilon, order: rdp.value.order, seconds: rdp.seconds },
      pld: { epsilon: pld.value.epsilon, seconds: pld.seconds, warmSeconds: warm, roundingBound: stats.maxRoundingBound, maxSupport: stats.maxSupport }
    })
    if (!json) {
      console.log(
        `${c.name.padEnd(11)} q=${c.q} sigma=${c.sigma} T=${c.steps} delta=${c.delta}\n` +
          `  RDP eps ${rdp.value.epsilon.toFixed(4)} (order ${rdp.value.order})  ${rdp.seconds.toFixed(3)} s\n` +
          `  PLD eps ${pld.value.epsilon.toFixed(6)}  cold ${pld.seconds.toFixed(3)} s, warm ${warm.toFixed(3)} s  ` +
          `(upper bound; FFT rounding <= ${stats.maxRoundingBound.toExponential(1)} of the peak, support ${stats.maxSupport})`
      )
    }
  }
  const cal = time(() =>
    Result.getOrThrow(
      calibrateNoiseMultiplier({ accountant: "pld", mechanism: { samplingRate: 0.01 }, steps: 10_000, epsilon: 2, delta: 1e-5, relTol: 1e-3 })
    )
  )
  const calibration = { accountant: "pld", q: 0.01, steps: 10_000, epsilon: 2, delta: 1e-5, noiseMultiplier: cal.value.noiseMultiplier, seconds: cal.seconds }
  // small-sigma calibration (used to run out of memory)
  const calSmall = time(() =>
    Result.getOrThrow(
      calibrateNoiseMultiplier({ accountant: "pld", mechanism: { samplingRate: 0.0015 }, steps: 20, epsilon: 8, delta: 1e-6 })
    )
  )
  const calibrationSmall = { accountant: "pld", q: 0.0015, steps: 20, epsilon: 8, delta: 1e-6, noiseMultiplier: calSmall.value.noiseMultiplier, seconds: calSmall.seconds }
  if (json) console.log(JSON.stringify({ cases: results, calibration, calibrationSmall }))
  else {
    console.log(`calibration (PLD, q=0.01, T=1e4, eps=2, delta=1e-5): sigma ${cal.value.noiseMultiplier.toFixed(4)}  ${cal.seconds.toFixed(3)} s`)
    console.log(`calibration (PLD, q=0.0015, T=20, eps=8, delta=1e-6): sigma ${calSmall.value.noiseMultiplier.toFixed(4)}  ${calSmall.seconds.toFixed(3)} s`)
  }
}
