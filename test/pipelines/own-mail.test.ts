/**
 * The new user's own pipeline (pipelines/own-mail.ts) at the micro scale: their JSONL mail
 * (with one broken record, counted and reported), epsilon 3, their own statistics stage.
 */
import { describe, expect, it } from "vitest"
import { Effect } from "effect"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { Plan } from "@dpipe/dsl"
import { collectingReporter, readParquetTable, runPipeline } from "@dpipe/runtime"
import { accountingApi, Documents } from "@dpipe/stages"
import ownMail from "../../pipelines/own-mail.ts"
import { cli, repoRoot, tempStore } from "../runtime/helpers.ts"

describe("own-mail", () => {
  it("runs at the micro scale: own JSONL corpus, the custom stage's statistics, epsilon within 3", async () => {
    const store = tempStore()
    const reporter = collectingReporter()
    const summary = await Effect.runPromise(runPipeline(ownMail, { store, scale: "micro", runId: "m", reporter }))
    expect(summary.record.status).toBe("succeeded")
    const nodes = summary.record.nodes
    const read = (node: string, file: string) => JSON.parse(readFileSync(join(store, "cache", nodes[node]!.key!, file), "utf8"))

    // The corpus: 121 lines, one broken (line 98), reported on the terminal and in the report.
    const report = read("corpus", "report.json")
    expect(report).toMatchObject({ read: 121, kept: 120, duplicates: 0, malformed: 1, malformedByReason: { "not-json": 1 } })
    const infos = reporter.events.flatMap((e) => (e.type === "stage-info" && e.node === "corpus" ? [e.message] : []))
    expect(infos.join("\n")).toMatch(/skipped 1 of 121 records as malformed: not-json 1 \(first: .*own-mail\.jsonl line 98: not valid JSON/)

    // The custom stage agrees with a direct count over the split's training documents.
    const docs: Array<{ user_id: string; bytes: number }> = []
    for await (const batch of readParquetTable(join(store, "cache", nodes["split"]!.key!, "train_documents.parquet"), Documents)) docs.push(...batch)
    const perUser = new Map<string, number>()
    for (const d of docs) perUser.set(d.user_id, (perUser.get(d.user_id) ?? 0) + 1)
    const stats = read("mail-stats", "stats.json")
    expect(stats).toEqual({
      documents: docs.length,
      users: perUser.size,
      meanBytes: docs.reduce((s, d) => s + d.bytes, 0) / docs.length,
      maxDocumentsPerUser: Math.max(...perUser.values())
    })
    expect(nodes["mail-stats"]!.outputs!["stats"]!.label).toBe("private")

    // Epsilon 3: the statement's PLD epsilon is what `account` gives for the run's parameters, within the budget.
    const statement = read("privacy-statement", "statement.json")
    const dp = Plan.makePlan(ownMail, { scale: "micro" })
    if (!dp.ok) throw dp.error
    const config = dp.value.nodes.find((n) => n.id === "dp-train")!.config as { samplingRate: number; noiseMultiplier: number; steps: number }
    const account = accountingApi.epsilon({ ...config, delta: 1e-6 })
    expect(statement.epsilon).toBeCloseTo(account.pld!.epsilon, 10)
    expect(statement.epsilon).toBeLessThanOrEqual(3)
    expect(statement.budget).toMatchObject({ epsilon: 3, withinBudget: true })
    // The baseline trained the same model for the same steps (the declared match holds).
    expect(dp.value.warnings).toEqual([])
    const base = dp.value.nodes.find((n) => n.id === "baseline")!.config as { steps: number; model: unknown }
    expect(base.steps).toBe(config.steps)
    // The published statistics file is in the run directory.
    expect(JSON.parse(readFileSync(join(store, "runs", "m", "mail-stats.json"), "utf8"))).toEqual(stats)
  }, 300_000)

  it("plan on the command line: --set params.steps changes both trainers quietly; one trainer alone warns; typos get a suggestion", async () => {
    const store = tempStore()
    const env = { DPIPE_PIPELINES: join(repoRoot, "pipelines") }
    const both = await cli(["plan", "own-mail", "--scale", "micro", "--store", store, "--set", "params.steps=16"], env)
    expect(both.code, both.stderr).toBe(0)
    expect(both.stderr).not.toContain("warning")
    expect(both.stdout).toContain("parameters (--set params.NAME=VALUE): steps=16, samplingRate=0.05, dModel=32")
    const one = await cli(["plan", "own-mail", "--scale", "micro", "--store", store, "--set", "dp-train.steps=16"], env)
    expect(one.code, one.stderr).toBe(0)
    expect(one.stderr).toContain("warning: dp-train.steps (16) and baseline.steps (12) differ, but the pipeline declares them matching")
    expect(one.stderr).toContain("--set params.steps=16")
    const typos = await cli(["plan", "own-mail", "--scale", "micro", "--store", store, "--set", "dp-trian.steps=16", "--set", "corpus.texColumn=body"], env)
    expect(typos.code).toBe(1)
    expect(typos.stderr).toContain("PlanError: 2 problems:")
    expect(typos.stderr).toContain("Did you mean dp-train.steps?")
    expect(typos.stderr).toContain("Did you mean corpus.textColumn?")
  }, 120_000)
})
