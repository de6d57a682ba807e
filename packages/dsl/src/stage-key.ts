/**
 * Stage keys: sha256 over (stage name, version, code fingerprint, canonical semantic
 * config, input content hashes). Same key -> the runtime reuses the cached outputs and
 * never recomputes. Performance flags are deliberately not part of the key. The code
 * fingerprint (computed by the runtime: the dsl reads no files) covers the stage's
 * module and the project modules it imports (docs/architecture.md, "Stage keys and
 * what is not keyed").
 */
import { createHash } from "node:crypto"
import { canonicalJson } from "./canonical-json.ts"

export interface StageKeyParts {
  readonly stage: string
  readonly version: string
  /** The fingerprint of the code that computes the stage. */
  readonly code: string
  /** The encoded semantic config. */
  readonly config: unknown
  /** Input name -> content hash of the artifact wired into it. */
  readonly inputs: Readonly<Record<string, string>>
}

export const stageKey = (parts: StageKeyParts): string =>
  createHash("sha256")
    .update(canonicalJson({ v: 2, stage: parts.stage, version: parts.version, code: parts.code, config: parts.config, inputs: parts.inputs }))
    .digest("hex")
