/**
 * The privacy audit stages: `dp-audit` and `baseline-audit` (one-run audits with white-box
 * gradient canaries) and `audited-statement` (the privacy statement with the audit's lower
 * bound beside the accountant's epsilon), `audit-report` (both audits side by side: summary and audit.html).
 */
export { AuditConfig, AuditSettings, auditedStatement, auditText, baselineAudit, dpAudit, withAudit } from "./one-run-audit.ts"
export { PrivacyAudit } from "../report-stages/schemas.ts"
export { AuditSummary, auditReport, renderAuditHtml } from "./audit-report.ts"
