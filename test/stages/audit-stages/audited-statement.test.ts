import { describe, expect, it } from "vitest"
import { Result, Schema } from "effect"
import { renderReport } from "@dpipe/stages/report-stages/index"
import { PrivacyAudit, PrivacyStatement } from "@dpipe/stages/report-stages/schemas"
import { auditText, withAudit } from "@dpipe/stages/audit-stages/index"
import { evaluation, fixedStatement, memorization, metricsRows } from "../report-stages/fixtures.ts"

const statement = fixedStatement()
const body = {
  method: "one-run" as const,
  setting: "white-box" as const,
  canary: "a Dirac gradient of norm C",
  training: "dp" as const,
  canaries: 1000,
  included: 497,
  guessesIn: 100,
  guessesOut: 0,
  correct: 71,
  confidence: 0.95,
  delta: statement.delta,
  epsilonLowerBound: 0.2113,
  epsilonUpperBound: statement.epsilon
}
const audit: PrivacyAudit = { ...body, text: auditText(body) }

describe("the audited statement", () => {
  it("carries the audit beside the epsilon, in its JSON, its text and the report", () => {
    const s = Result.getOrThrow(withAudit(statement, audit))
    expect(Schema.decodeUnknownSync(PrivacyStatement)(JSON.parse(JSON.stringify(s)))).toEqual(s)
    expect(s.audit).toEqual(audit)
    expect(s.text.startsWith(statement.text)).toBe(true)
    expect(s.text).toMatch(/71 of 100 membership guesses on 1000 canaries were right/)
    expect(s.text).toMatch(/not \(epsilon, 1e-5\)-DP for any epsilon below 0\.211 \(confidence 95%\)/)
    const { html } = renderReport({ title: "t", statement: s, dpMetrics: metricsRows(12), baselineMetrics: metricsRows(12, { noEpsilon: true }), evaluation, memorization })
    expect(html).toMatch(/ε lower bound \(one-run audit\)/)
    expect(html).toMatch(/0\.211 at 95% confidence \(white-box, 71 of 100 guesses right, 1000 canaries\)/)
    // a statement without an audit shows no audit row
    const plain = renderReport({ title: "t", statement, dpMetrics: metricsRows(12), baselineMetrics: metricsRows(12, { noEpsilon: true }), evaluation, memorization })
    expect(plain.html).not.toMatch(/one-run audit/)
  })

  it("refuses the baseline's audit and an audit at another delta", () => {
    const base = { ...body, training: "non-private" as const, epsilonUpperBound: null }
    const b = withAudit(statement, { ...base, text: auditText(base) })
    expect(Result.isFailure(b) && b.failure).toMatch(/not of the non-private baseline/)
    const other = withAudit(statement, { ...audit, delta: 1e-6 })
    expect(Result.isFailure(other) && other.failure).toMatch(/set the audit's delta to the statement's/)
  })
})
