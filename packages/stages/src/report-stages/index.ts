/**
 * The report stages: `privacy-statement` (final epsilon by PLD and RDP, and the
 * statement) and `report` (report.html and a summary), with their JSON schemas and the
 * pure functions behind them (for tests and the CLI).
 */
export { escapeHtml } from "./html.ts"
export { DEFAULT_LABELS, exposureByRepeats, renderReport, summarize, type MetricsRow, type ReportInput, type ReportLabels } from "./render.ts"
export { report, ReportConfig } from "./report.ts"
export { PrivacyStatement, RdpResult, ReportSummary } from "./schemas.ts"
export { computeStatement, formatDelta, formatEpsilon, planEvent, privacyStatement, StatementConfig, statementText } from "./statement.ts"
