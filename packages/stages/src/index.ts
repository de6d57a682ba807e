/**
 * @dpipe/stages: the stages of DP language-model pretraining, ready to wire into a
 * pipeline, and the accountants a pipeline's privacy policy uses.
 *
 * - Data (data-stages/): `corpus`, `public-corpus`, `split`, `tokenizer`, `pack`;
 *   `addDataStages(b, { source: Corpus.jsonl({ path, textColumn, userColumn }) })` wires
 *   them; `Corpus.*` are the typed corpus sources; `dataSettings` / `dataScales` are
 *   type-checked scale presets.
 * - Training (training-stages/): `dpTrain` (DP-SGD, a privacy mechanism) and `train`
 *   (the non-private baseline), their config schemas and compute estimates.
 * - Evaluation (eval-stages/): `evaluate`, `memorization`.
 * - Reports (report-stages/): `privacyStatement`, `report`.
 * - Tuning (tuning-stages/): `dpTune`, an accounted learning-rate sweep that releases only
 *   the best trial (composition or private selection, whichever is smaller).
 * - Scaling laws (scaling-stages/): `publicMail` (the public proxy corpus), `sweepRun` (one
 *   point of a DP scaling-law sweep: fixed batch, noise-batch ratio), `fitStage` (the law and
 *   its residuals), `scalingReport`, and the sweep's grid (`GRID`, `sweepSettings`).
 * - Audits (audit-stages/): `dpAudit`, `baselineAudit` (one-run privacy audits with white-box
 *   gradient canaries) and `auditedStatement` (the statement with the audit's lower bound).
 * - Privacy (privacy/): `defaultAccountants` (PLD first, then RDP), `pldAccountant`,
 *   `rdpAccountant`, `accountingApi` (epsilon and sigma calibration for DP-SGD), and
 *   `calibrateSigmaByPld` (sigma for a budget by PLD, cached by its inputs).
 * - `Demo`: the toy stages of the demo pipeline.
 *
 * Loading: this root loads the training engine (TensorFlow.js core), about twice the
 * import time of the data stages alone. Code that needs only the data part imports
 * `@dpipe/stages/data`, which never loads the engine (test/architecture/root-exports.test.ts).
 */
export * from "./data-stages/index.ts"
export * from "./training-stages/index.ts"
export * from "./eval-stages/index.ts"
export * from "./report-stages/index.ts"
export * from "./audit-stages/index.ts"
export * from "./tuning-stages/index.ts"
export * from "./scaling-stages/index.ts"
export { defaultAccountants, pldAccountant, rdpAccountant } from "./privacy/accountants.ts"
export { accountingApi } from "./privacy/accounting-api.ts"
export { calibrateSigmaByPld } from "./privacy/calibration-cache.ts"
export * as Demo from "./demo/index.ts"
