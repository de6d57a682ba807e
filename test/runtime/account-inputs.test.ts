/**
 * `pipeline account` takes what training takes, and the form Opacus users know:
 * - a batch cap below the expected batch q*N, which the training config refuses, is
 *   refused by `account` too, with the training config's own message (one line, the flag);
 * - `--batch-size B --dataset-size N --epochs E` derives q = 1/ceil(N/B) and
 *   T = floor(E/q) as Opacus does (make_private's sample_rate = 1/len(data_loader);
 *   get_noise_multiplier's steps = int(epochs / sample_rate)), prints both, and accounts
 *   exactly that (q, T) event.
 */
import { describe, expect, it } from "vitest"
import { Exit, Result, Schema } from "effect"
import { pldEpsilon } from "@dpipe/accounting/pld-accountant"
import { poissonSampledGaussian, selfComposed } from "@dpipe/accounting/events"
import { TrainConfig } from "@dpipe/stages/training-stages/config"
import { opacusDerivation } from "@dpipe/runtime/cli/account-command"
import { cli } from "./helpers.ts"

const trainingRefusal = (c: Record<string, unknown>): string => {
  const exit = Schema.decodeUnknownExit(TrainConfig)({ model: { dModel: 32, layers: 1, heads: 2, kvHeads: 1, headDim: 16, ffnDim: 64 }, steps: 10, clipNorm: 1, noiseMultiplier: 1, ...c })
  return Exit.isFailure(exit) ? String(exit.cause) : ""
}

describe("pipeline account accepts what training accepts", () => {
  it("refuses a batch cap below q*N with the training config's message, as training does", async () => {
    const issue = "the batch cap 90 is below the expected batch q*N = 100.0"
    // Training refuses it ...
    expect(trainingRefusal({ samplingRate: 0.01, datasetSize: 10_000, batchCap: 90 })).toContain(issue)
    // ... and so does account, in one line naming the flag (it printed an epsilon before).
    const r = await cli(["account", "--sampling-rate", "0.01", "--dataset-size", "10000", "--batch-cap", "90", "--noise-multiplier", "1", "--steps", "10", "--delta", "1e-6"])
    expect(r.code).not.toBe(0)
    expect(r.stdout).toBe("")
    expect(r.stderr.trim().split("\n")).toHaveLength(1)
    expect(r.stderr).toContain(`--batch-cap 90: ${issue}: most steps would be truncated`)
    // A cap training accepts is accounted (PLD only: truncated Poisson).
    const ok = await cli(["account", "--sampling-rate", "0.01", "--dataset-size", "10000", "--batch-cap", "150", "--noise-multiplier", "1", "--steps", "10", "--delta", "1e-6", "--json"])
    expect(trainingRefusal({ samplingRate: 0.01, datasetSize: 10_000, batchCap: 150 })).toBe("")
    expect(ok.code, ok.stderr).toBe(0)
    expect(Object.keys(JSON.parse(ok.stdout))).toEqual(["pld"])
    // A dataset size alone is the public N training takes: plain Poisson, both accountants.
    const n = await cli(["account", "--sampling-rate", "0.01", "--dataset-size", "10000", "--noise-multiplier", "1", "--steps", "10", "--delta", "1e-6", "--json"])
    expect(n.code, n.stderr).toBe(0)
    expect(Object.keys(JSON.parse(n.stdout)).sort()).toEqual(["pld", "rdp"])
  }, 120_000)

  it("derives q and T from --batch-size, --dataset-size and --epochs as Opacus does, prints them and accounts that event", async () => {
    // N = 1000, B = 64: ceil(1000/64) = 16 batches per epoch, so q = 1/16 (not B/N = 0.064); 3 epochs = 48 steps.
    expect(opacusDerivation(64, 1000, 3)).toEqual({ samplingRate: 1 / 16, steps: 48, stepsPerEpoch: 16 })
    // When B divides N this is q = B/N and T = E*N/B.
    expect(opacusDerivation(100, 1000, 2)).toEqual({ samplingRate: 0.1, steps: 20, stepsPerEpoch: 10 })
    const args = ["account", "--batch-size", "64", "--dataset-size", "1000", "--epochs", "3", "--noise-multiplier", "1.1", "--delta", "1e-5"]
    const r = await cli([...args, "--json"])
    expect(r.code, r.stderr).toBe(0)
    const out = JSON.parse(r.stdout) as { derived: Record<string, number>; pld: { epsilon: number } }
    expect(out.derived).toEqual({ samplingRate: 0.0625, steps: 48, batchSize: 64, stepsPerEpoch: 16, expectedBatchSize: 62.5, epochs: 3 })
    const expected = Result.getOrThrow(pldEpsilon(selfComposed(poissonSampledGaussian(0.0625, 1.1), 48), 1e-5)).epsilon
    expect(Math.abs(out.pld.epsilon / expected - 1)).toBeLessThan(1e-9)
    const text = await cli(args)
    expect(text.code, text.stderr).toBe(0)
    expect(text.stdout).toContain("derived as Opacus does: q = 1/ceil(N/B) = 1/ceil(1000/64) = 0.0625 (expected batch q*N = 62.5), T = floor(E/q) = floor(3 * 16) = 48")
    expect(text.stdout).toContain("q=0.0625 sigma=1.1 T=48 delta=0.00001")
  }, 120_000)

  it("refuses mixed or incomplete forms in one line", async () => {
    const cases: Array<[Array<string>, RegExp]> = [
      [["--batch-size", "64", "--sampling-rate", "0.1", "--dataset-size", "1000", "--epochs", "1"], /either --sampling-rate or --batch-size/],
      [["--batch-size", "64", "--epochs", "1"], /--batch-size 64 needs --dataset-size N/],
      [["--sampling-rate", "0.1", "--epochs", "1", "--steps", "10"], /either --steps or --epochs/],
      [["--sampling-rate", "0.1", "--steps", "10", "--batch-cap", "5"], /--dataset-size: batchCap \(truncated Poisson\) needs the dataset size N the accountant assumes: give --dataset-size N/]
    ]
    for (const [args, pattern] of cases) {
      const r = await cli(["account", ...args, "--noise-multiplier", "1", "--delta", "1e-5"])
      expect(r.code).not.toBe(0)
      expect(r.stderr.trim().split("\n")).toHaveLength(1)
      expect(r.stderr).toMatch(pattern)
    }
  }, 120_000)
})
