/**
 * Stage keys: sha256 over (stage name, version, canonical semantic config, input
 * content hashes). Same key -> the runtime reuses the cached outputs and never
 * recomputes. Performance flags are deliberately not part of the key.
 */
import { createHash } from "node:crypto"
import { canonicalJson } from "./canonical-json.ts"

export interface StageKeyParts {
  readonly stage: string
  readonly version: string
  /** The encoded semantic config. */
  readonly config: unknown
  /** Input name -> content hash of the artifact wired into it. */
  readonly inputs: Readonly<Record<string, string>>
}

export const stageKey = (parts: StageKeyParts): string =>
  createHash("sha256")
    .update(canonicalJson({ v: 1, stage: parts.stage, version: parts.version, config: parts.config, inputs: parts.inputs }))
    .digest("hex")
