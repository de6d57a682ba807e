/** The main pipeline at the micro scale end to end, and the 1b scale's plan and refusal. */
import { describe, expect, it } from "vitest"
import { Effect } from "effect"
import { copyFileSync, existsSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { layout, readLedger, runPipeline } from "@dpipe/runtime"
import { accountingApi } from "@dpipe/stages/privacy/accounting-api"
import { Plan } from "@dpipe/dsl"
import vaultgemma from "../../pipelines/vaultgemma-1b.ts"
import { artifactDigests, cli, listDir, repoRoot, startCli, tempStore, waitFor } from "../runtime/helpers.ts"

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
    // The training settings derive from the pipeline's parameters: read them from the plan.
    const planned = Plan.makePlan(vaultgemma, { scale: "micro" })
    if (!planned.ok) throw planned.error
    const micro = planned.value.nodes.find((n) => n.id === "dp-train")!.config as { samplingRate: number; noiseMultiplier: number; steps: number }
    const q = micro.samplingRate
    const sigma = micro.noiseMultiplier
    const T = micro.steps
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
    expect(html).toContain(`data-epsilon="${statement.epsilon}"`)
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
    // PLD gives ~1.72 at N ~ 1.27e10 (docs/privacy.md, R12); RDP is far looser.
    expect(Number(eps![1])).toBeGreaterThan(1.6)
    expect(Number(eps![1])).toBeLessThan(1.8)
    expect(Number(eps![2])).toBeGreaterThan(Number(eps![1]))
    const run = await cli(["run", "vaultgemma-1b", "--scale", "1b", "--store", store, "--run-id", "big"], env)
    expect(run.code).not.toBe(0)
    expect(run.stderr).toMatch(/cannot run here: training would take about [\d.e+]+ years on backend native/)
    expect(run.stderr).toMatch(/tfjs-node-gpu/)
    expect(existsSync(join(store, "runs", "big"))).toBe(false)
    expect(listDir(join(store, "runs"))).toEqual([])
  }, 120_000)

  it("killed during DP training and resumed, ends with the same results as a run that was not", async () => {
    const reference = tempStore()
    const ref = await cli(["run", "vaultgemma-1b", "--scale", "micro", "--run-id", "ref", "--store", reference], env)
    expect(ref.code, ref.stderr).toBe(0)
    // Same store secret, so the same sampler and noise streams: only the crash differs.
    const store = tempStore()
    copyFileSync(join(reference, "secret.key"), join(store, "secret.key"))
    const settings = ["--set", "dp-train.checkpointEvery=3", "--set", "baseline.checkpointEvery=3"]
    const first = startCli(["run", "vaultgemma-1b", "--scale", "micro", "--run-id", "crash", "--store", store, "--json", ...settings], env)
    await waitFor(() => listDir(join(store, "runs/crash/stages/dp-train/checkpoints")).some((n) => n.startsWith("step-")), 180_000, "a DP-SGD checkpoint")
    first.child.kill("SIGKILL")
    await first.done
    const resumed = await cli(["resume", "crash", "--store", store, "--json"], env)
    expect(resumed.code, resumed.stderr).toBe(0)
    expect(resumed.stdout).toMatch(/"node":"dp-train","message":"restored checkpoint at step [1-9]/)
    // Every artifact is byte-identical (artifacts carry no wall-clock), so every key is
    // too. Keys first: a key that differs names a stage whose code changed mid-test.
    const keysOf = (s: string, runId: string) =>
      Object.fromEntries(Object.entries(JSON.parse(readFileSync(join(s, "runs", runId, "run.json"), "utf8")).nodes as Record<string, { key: string }>).map(([k, n]) => [k, n.key]))
    expect(keysOf(store, "crash")).toEqual(keysOf(reference, "ref"))
    expect(artifactDigests(store, "crash")).toEqual(artifactDigests(reference, "ref"))
    // Wall-clock telemetry lives in the run record and the log instead.
    const record = JSON.parse(readFileSync(join(store, "runs", "crash", "run.json"), "utf8"))
    expect(record.nodes["dp-train"].telemetry.tokensPerSec).toBeGreaterThan(0)
    expect(readFileSync(join(store, "runs", "crash", "logs", "run.log"), "utf8")).toMatch(/\[dp-train\] telemetry tokensPerSec=\d+/)
    const la = await readLedger(layout(reference).ledgerFile("ref"))
    const lb = await readLedger(layout(store).ledgerFile("crash"))
    expect(lb.map((e) => [e.steps, e.event])).toEqual(la.map((e) => [e.steps, e.event]))
  }, 400_000)
})
