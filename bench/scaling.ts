/**
 * `pnpm bench scaling [--json]`: the scaling-law fit and the planner on a synthetic sweep
 * shaped like a dp-scaling one (5 models x 7 noise-batch ratios plus 0 x 3 learning rates x
 * 100 logged steps = 12,000 observations, 0.5% noise).
 *
 * Prints: the semi-parametric fit's time and the parametric fit's; the planner's time split
 * into the RDP grid (every candidate calibrated) and the PLD refinement of the near-optimal
 * set, per calibration side by side, and what the refinement changes (sigma and predicted
 * loss of the best plan); with the shipped mail-tiny law, the README's advise example.
 * Asserts nothing.
 */
import { existsSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { Result } from "effect"
import { fitScalingLaw, parseLaw, planTraining, type SweepObservation } from "@dpipe/scaling"

const law = (M: number, T: number, s: number) =>
  1.8 + 25 * Math.pow(M, -0.22) + 12 * Math.pow(T, -0.35) + 0.8 * Math.log1p((s / 2 ** -10) * Math.pow(M / 1e6, 0.5) * Math.pow(T / 1000, -0.2))

const observations = (): Array<SweepObservation> => {
  let seed = 1
  const uniform = () => ((seed = (seed * 16807) % 2147483647) / 2147483647)
  const normal = () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform())
  const out: Array<SweepObservation> = []
  for (const [model, params] of [["m200k", 2e5], ["m500k", 5e5], ["m1m", 1.2e6], ["m3m", 3e6], ["m7m", 7e6]] as const)
    for (const [learningRate, penalty] of [[1e-3, 0], [3e-3, 0.02], [3e-4, 0.04]] as const)
      for (const s of [0, 2 ** -14, 2 ** -12.5, 2 ** -11, 2 ** -9.5, 2 ** -8, 2 ** -6.5, 2 ** -5])
        for (let step = 20; step <= 2000; step += 20)
          out.push({ model, params, learningRate, noiseBatchRatio: s, step, loss: law(params, step, s) * (1 + penalty) * (1 + 0.005 * normal()) })
  return out
}

const seconds = <A>(f: () => A): { readonly value: A; readonly s: number } => {
  const t0 = performance.now()
  const value = f()
  return { value, s: (performance.now() - t0) / 1000 }
}

export const main = async (argv: ReadonlyArray<string>): Promise<void> => {
  const json = argv.includes("--json")
  const obs = observations()
  const semi = seconds(() => fitScalingLaw(obs, { sequenceLength: 128, physicalBatch: 64, minStep: 100, parametric: false }))
  const full = seconds(() => fitScalingLaw(obs, { sequenceLength: 128, physicalBatch: 64, minStep: 100 }))
  const request = { computeFlops: 1e14, epsilon: 2, delta: 1e-6, datasetSize: 100_000 }
  const rdp = seconds(() => planTraining(semi.value, { ...request, accountant: "rdp" }))
  const pld = seconds(() => planTraining(semi.value, request))
  const perRdp = rdp.value.search.gridMs / rdp.value.search.calibrated
  const perPld = pld.value.search.refineMs / Math.max(1, pld.value.search.refined)
  const figures: Record<string, unknown> = {
    observations: obs.length,
    fitSemiParametricSeconds: semi.s,
    fitParametricSeconds: full.s - semi.s,
    planner: {
      candidates: rdp.value.search.candidates,
      calibratedByRdp: rdp.value.search.calibrated,
      rdpGridSeconds: rdp.value.search.gridMs / 1000,
      refinedByPld: pld.value.search.refined,
      pldRefineSeconds: pld.value.search.refineMs / 1000,
      msPerRdpCalibration: perRdp,
      msPerPldCalibration: perPld,
      pldOverRdpPerCalibration: perPld / perRdp,
      bestRdp: { model: rdp.value.best.model, batch: rdp.value.best.expectedBatchSize, steps: rdp.value.best.steps, sigma: rdp.value.best.noiseMultiplier, loss: rdp.value.best.predictedLoss },
      bestPld: { model: pld.value.best.model, batch: pld.value.best.expectedBatchSize, steps: pld.value.best.steps, sigma: pld.value.best.noiseMultiplier, loss: pld.value.best.predictedLoss }
    }
  }
  const shipped = join(import.meta.dirname, "..", "pipelines", "scaling-laws", "mail-tiny.json")
  if (existsSync(shipped)) {
    const parsed = parseLaw(readFileSync(shipped, "utf8"), shipped)
    if (Result.isSuccess(parsed)) {
      // The README's example: 1e12 FLOPs, epsilon 1, the tiny data's N.
      const p = seconds(() => planTraining(parsed.success, { computeFlops: 1e12, epsilon: 1, delta: 1e-6, datasetSize: 47_808 }))
      const s = p.value.search
      figures["mailTiny"] = { seconds: p.s, rdpGridSeconds: s.gridMs / 1000, pldRefineSeconds: s.refineMs / 1000, refined: s.refined, best: p.value.best.model, batch: p.value.best.expectedBatchSize, steps: p.value.best.steps, loss: p.value.best.predictedLoss }
    }
  }
  if (json) {
    console.log(JSON.stringify(figures))
    return
  }
  const f = figures["planner"] as Record<string, number>
  console.log(`fit: ${obs.length} observations; semi-parametric ${semi.s.toFixed(2)} s, parametric (Huber, App. E) ${(full.s - semi.s).toFixed(2)} s more`)
  console.log(`planner (C=1e14, eps=2, delta=1e-6, N=1e5): ${f["candidates"]} candidates, ${f["calibratedByRdp"]} inside the law's step range`)
  console.log(`  RDP grid:   ${f["rdpGridSeconds"]!.toFixed(2)} s  (${perRdp.toFixed(1)} ms per calibration)`)
  console.log(`  PLD refine: ${f["pldRefineSeconds"]!.toFixed(2)} s  (${f["refinedByPld"]} candidates, ${perPld.toFixed(0)} ms per calibration, ${(perPld / perRdp).toFixed(0)}x RDP's)`)
  const [a, b] = [rdp.value.best, pld.value.best]
  console.log(`  best by RDP: ${a.model} B=${a.expectedBatchSize} T=${a.steps} sigma=${a.noiseMultiplier.toFixed(4)} loss=${a.predictedLoss.toFixed(4)}`)
  console.log(`  best by PLD: ${b.model} B=${b.expectedBatchSize} T=${b.steps} sigma=${b.noiseMultiplier.toFixed(4)} loss=${b.predictedLoss.toFixed(4)} (loss ${(100 * (b.predictedLoss / a.predictedLoss - 1)).toFixed(2)}%)`)
  if (figures["mailTiny"] !== undefined) console.log(`mail-tiny law: ${JSON.stringify(figures["mailTiny"])}`)
}
