/** The main pipeline at the micro scale end to end, and the 1b scale's plan and refusal. */
import { describe, expect, it } from "vitest"
import { Effect } from "effect"
import { existsSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { layout, readLedger, runPipeline } from "@dpipe/runtime"
import { accountingApi } from "@dpipe/stages/privacy/accounting-api"
import vaultgemma, { scales } from "../../pipelines/vaultgemma-1b.ts"
import { cli, listDir, repoRoot, tempStore } from "../runtime/helpers.ts"

const env = { DPIPE_PIPELINES: join(repoRoot, "pipelines") }

describe("vaultgemma-1b", () => {
  it("runs at the micro scale: report, statement equal to `account`, labels, ledger", async () => {
    const store = tempStore()
    const summary = await Effect.runPromise(runPipeline(vaultgemma, { store, scale: "micro", runId: "m" }))
    expect(summary.record.status).toBe("succeeded")
    const nodes = summary.record.nodes
    const read = (node: string, file: string) => JSON.parse(readFileSync(join(store, "cache", nodes[node]!.key!, file), "utf8"))
    // The statement's epsilon is what `pipeline account` gives for the same parameters.
    const statement = read("privacy-statement", "statement.json")
    const micro = scales["micro"]!
    const q = micro["dp-train.samplingRate"] as number
    const sigma = micro["dp-train.noiseMultiplier"] as number
    const T = micro["dp-train.steps"] as number
    const account = accountingApi.epsilon({ samplingRate: q, noiseMultiplier: sigma, steps: T, delta: 1e-6 })
    expect(statement.epsilon).toBeCloseTo(account.pld!.epsilon, 10)
    expect(statement.rdp.epsilon).toBeCloseTo(account.rdp!.epsilon, 10)
    expect(statement.epsilon).toBeLessThanOrEqual(8)
    expect(summary.record.privacy!.epsilon["pld"]).toBeCloseTo(statement.epsilon, 10)
    const ledger = await readLedger(layout(store).ledgerFile("m"))
    expect(ledger.map((e) => e.node)).toEqual(["dp-train"])
    // Labels: DP weights dp, everything computed on private data without noise private.
    expect(nodes["dp-train"]!.outputs!["weights"]!.label).toBe("dp")
    expect(nodes["baseline"]!.outputs!["weights"]!.label).toBe("private")
    expect(nodes["evaluate"]!.outputs!["evaluation"]!.label).toBe("private")
    expect(nodes["tokenizer"]!.outputs!["tokenizer"]!.label).toBe("public")
    // report.html is published into the run directory.
    const html = readFileSync(join(layout(store).runDir("m"), "report.html"), "utf8")
    expect(html).toContain("<svg")
    expect(html).toContain(statement.epsilon.toFixed(2))
    const evaluation = read("evaluate", "evaluation.json")
    for (const k of ["dp", "nonPrivate", "unigram"]) expect(Number.isFinite(evaluation.models[k].meanLoss)).toBe(true)
  }, 300_000)

  it("plan --scale 1b shows VaultGemma's compute estimate and privacy cost; run refuses without a GPU backend", async () => {
    const store = tempStore()
    const plan = await cli(["plan", "vaultgemma-1b", "--scale", "1b", "--store", store], env)
    expect(plan.code, plan.stderr).toBe(0)
    expect(plan.stdout).toMatch(/model 1038\.7M parameters/)
    expect(plan.stdout).toMatch(/assumed dataset 1\.270e\+10 sequences, expected batch q\*N = 518,144 sequences, 100,000 steps/)
    const eps = /predicted privacy spend: epsilon ([\d.]+) \(pld\), ([\d.]+) \(rdp\) at delta 1\.1e-10; budget epsilon 2/.exec(plan.stdout)
    expect(eps).not.toBeNull()
    // DP-NOTES: PLD gives ~1.72 at N ~ 1.27e10; RDP is far looser.
    expect(Number(eps![1])).toBeGreaterThan(1.6)
    expect(Number(eps![1])).toBeLessThan(1.8)
    expect(Number(eps![2])).toBeGreaterThan(Number(eps![1]))
    const run = await cli(["run", "vaultgemma-1b", "--scale", "1b", "--store", store, "--run-id", "big"], env)
    expect(run.code).not.toBe(0)
    expect(run.stderr).toMatch(/cannot run here: training would take about [\d.e+]+ years on backend wasm/)
    expect(run.stderr).toMatch(/tfjs-node-gpu/)
    expect(existsSync(join(store, "runs", "big"))).toBe(false)
    expect(listDir(join(store, "runs"))).toEqual([])
  }, 120_000)
})
