/** `pipeline advise`: the JSON contract, the law read from a file or a run's fit stage, one-line errors. */
import { beforeAll, describe, expect, it } from "vitest"
import { createHash } from "node:crypto"
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { encodeLaw, fitScalingLaw, predictLoss, type ScalingLaw } from "@dpipe/scaling"
import { cli } from "../runtime/helpers.ts"
import { MODELS, paperLikeLaw, sweep } from "./synthetic.ts"

let dir = ""
let lawPath = ""
let law: ScalingLaw
const budget = ["--compute-flops", "1e14", "--epsilon", "2", "--delta", "1e-6", "--dataset-size", "100000"]

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "dpipe-advise-"))
  law = fitScalingLaw(sweep({ law: paperLikeLaw, models: MODELS.slice(0, 4), steps: Array.from({ length: 40 }, (_, i) => 50 * (i + 1)) }), {
    sequenceLength: 128,
    physicalBatch: 64,
    minStep: 100,
    models: MODELS.slice(0, 4).map((m, i) => ({ ...m, config: { layers: 2 + i } })),
    parametric: false
  })
  lawPath = join(dir, "law.json")
  writeFileSync(lawPath, encodeLaw(law))
})

interface AdviceJson {
  model: string
  modelConfig: Record<string, number>
  params: number
  expectedBatchSize: number
  steps: number
  noiseMultiplier: number
  noiseBatchRatio: number
  predictedLoss: number
  accountant: string
  nearOptimal: Array<{ predictedLoss: number }>
  nonPrivate: { params: number; predictedLoss: number } | null
}

describe("pipeline advise", () => {
  it("--json prints one object with the best configuration, consistent with the law", async () => {
    const r = await cli(["advise", "--law", lawPath, ...budget, "--json"])
    expect(r.code, r.stderr).toBe(0)
    const out = JSON.parse(r.stdout) as AdviceJson
    for (const k of ["model", "expectedBatchSize", "steps", "noiseMultiplier", "noiseBatchRatio", "predictedLoss"]) expect(out).toHaveProperty(k)
    expect(MODELS.map((m) => m.name)).toContain(out.model)
    expect(out.modelConfig).toHaveProperty("layers")
    expect(out.accountant).toBe("pld")
    expect(out.noiseBatchRatio).toBeCloseTo(out.noiseMultiplier / out.expectedBatchSize, 15)
    expect(out.steps).toBe(Math.floor(1e14 / (6 * out.params * out.expectedBatchSize * 128)))
    expect(out.predictedLoss).toBeCloseTo(predictLoss(law, { params: out.params, steps: out.steps, noiseBatchRatio: out.noiseBatchRatio }), 12)
    expect(out.nearOptimal[0]!.predictedLoss).toBe(out.predictedLoss)
    expect(out.nonPrivate!.params).toBeGreaterThan(out.params)
  }, 240_000)

  it("reads the law of a run's fit stage from the store, and prints a readable plan", async () => {
    const store = join(dir, "store")
    const key = "0123abcd"
    mkdirSync(join(store, "cache", key), { recursive: true })
    mkdirSync(join(store, "runs", "dp-scaling-1"), { recursive: true })
    const text = encodeLaw(law)
    writeFileSync(join(store, "cache", key, "law.json"), text)
    const now = new Date().toISOString()
    const output = { file: "law.json", kind: "json", hash: createHash("sha256").update(text).digest("hex"), bytes: text.length, label: "public" }
    writeFileSync(
      join(store, "runs", "dp-scaling-1", "run.json"),
      JSON.stringify({ format: "dpipe-run/1", runId: "dp-scaling-1", pipeline: "dp-scaling", scale: "tiny", settings: {}, createdAt: now, updatedAt: now, status: "succeeded", nodes: { fit: { stage: "scaling-fit", status: "done", key, outputs: { law: output } } } })
    )
    const r = await cli(["advise", "--law", "dp-scaling-1", "--store", store, ...budget, "--accountant", "rdp"])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/^Plan for 1\.000e\+14 FLOPs, epsilon 2 at delta 0\.000001, 100000 privacy units/)
    expect(r.stdout).toContain(`law: ${join(store, "cache", key, "law.json")}`)
    expect(r.stdout).toMatch(/best: model m\w+ \(.* params\), expected batch \d+, \d+ steps, noise multiplier [\d.]+ \(RDP, epsilon [\d.]+\)/)
    expect(r.stdout).toMatch(/predicted loss: \d\.\d{4}/)
    expect(r.stdout).toMatch(/near-optimal \(predicted loss within 1% of the best\): \d+/)
    expect(r.stdout).toMatch(/non-private at the same compute: model m\w+/)
  }, 240_000)

  it("bad input gets one line naming the flag or the file", async () => {
    const cases: Array<[Array<string>, RegExp]> = [
      [["--law", lawPath, "--compute-flops", "0", "--epsilon", "1", "--delta", "1e-6", "--dataset-size", "1000"], /--compute-flops 0: must be > 0/],
      [["--law", lawPath, "--compute-flops", "1e14", "--epsilon", "1", "--delta", "1e-6", "--dataset-size", "1e3.5"], /--dataset-size 1e3\.5: must be a number/],
      [["--law", lawPath, "--compute-flops", "1e14", "--epsilon", "1", "--dataset-size", "1000"], /--delta is required/],
      [["--law", join(dir, "nope"), ...budget], /--law .*nope: no such file, and no run "[^"]*nope" in the store/],
      [["--law", lawPath, ...budget.slice(0, 1), "1e3", ...budget.slice(2)], /no \(model, batch\) spending 1\.000e\+3 FLOPs|no \(model, batch\) spending 1000 FLOPs/]
    ]
    writeFileSync(join(dir, "bad.json"), "{}")
    cases.push([["--law", join(dir, "bad.json"), ...budget], /bad\.json is not a scaling law/])
    for (const [args, pattern] of cases) {
      const r = await cli(["advise", ...args])
      expect(r.code, args.join(" ")).not.toBe(0)
      expect(r.stderr.trim().split("\n").length, r.stderr).toBe(1)
      expect(r.stderr).toMatch(pattern)
    }
  }, 240_000)
})
