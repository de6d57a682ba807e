/** The privacy-audit pipeline end to end at its micro scale. */
import { describe, expect, it } from "vitest"
import { Effect } from "effect"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { layout, readLedger, runPipeline } from "@dpipe/runtime"
import privacyAudit from "../../pipelines/privacy-audit.ts"
import { tempStore } from "../runtime/helpers.ts"

describe("privacy-audit", () => {
  it("the DP run's lower bound stays below the accountant's epsilon; the non-private baseline's is clearly positive", async () => {
    const store = tempStore()
    const summary = await Effect.runPromise(runPipeline(privacyAudit, { store, scale: "micro", runId: "a" }))
    expect(summary.record.status).toBe("succeeded")
    const nodes = summary.record.nodes
    const read = (node: string, file: string) => JSON.parse(readFileSync(join(store, "cache", nodes[node]!.key!, file), "utf8"))
    const dp = read("dp-audit", "audit.json")
    const base = read("baseline-audit", "audit.json")
    const statement = read("audited-statement", "statement.json")
    expect(dp.setting).toBe("white-box")
    expect(dp.canaries).toBe(1000)
    // The accountant's upper bound is the statement's epsilon, at the same delta.
    expect(dp.epsilonUpperBound).toBeCloseTo(statement.epsilon, 10)
    expect(dp.delta).toBe(statement.delta)
    // The audit never exceeds the accountant (a bound above it would be a privacy bug).
    expect(dp.epsilonLowerBound).toBeLessThanOrEqual(dp.epsilonUpperBound)
    // Without clipping or noise the canaries are found: with 100 guesses at 95% confidence
    // the largest possible bound is 3.49; the baseline must certify more than 2.
    expect(base.training).toBe("non-private")
    expect(base.epsilonUpperBound).toBeNull()
    expect(base.epsilonLowerBound).toBeGreaterThan(2)
    // The statement carries the audit beside its epsilon, in its text too.
    expect(statement.audit.epsilonLowerBound).toBe(dp.epsilonLowerBound)
    expect(statement.text).toMatch(/One-run privacy audit \(white-box/)
    // Labels: the DP audit is a DP release, the baseline's is private; the audit spends on the corpus.
    expect(nodes["dp-audit"]!.outputs!["audit"]!.label).toBe("dp")
    expect(nodes["baseline-audit"]!.outputs!["audit"]!.label).toBe("private")
    expect(nodes["audited-statement"]!.outputs!["statement"]!.label).toBe("dp")
    // audit.html, published into the run directory, shows both audits beside the accountant.
    const html = readFileSync(join(layout(store).runDir("a"), "audit.html"), "utf8")
    expect(html).toContain(`data-lower="${dp.epsilonLowerBound}"`)
    expect(html).toContain(`data-lower="${base.epsilonLowerBound}"`)
    expect(nodes["audit-report"]!.outputs!["report"]!.label).toBe("private")
    const ledger = await readLedger(layout(store).ledgerFile("a"))
    expect(ledger.map((e) => e.node)).toEqual(["dp-audit"])
  }, 600_000)
})
