/**
 * Runs the independent PyTorch reader (hf_gemma_reader.py) on an exported directory.
 * PyTorch comes from Debian's python3-torch (.ci/run installs it); a machine without
 * it fails these tests with the command that installs it, rather than skipping them.
 */
import { execFileSync, spawnSync } from "node:child_process"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const here = dirname(fileURLToPath(import.meta.url))

/** The first python3 that imports torch: $DPIPE_PYTHON, then the PATH's python3, then Debian's. */
export const torchPython = (): string => {
  const candidates = [process.env["DPIPE_PYTHON"], "python3", "/usr/bin/python3"].filter((c): c is string => c !== undefined && c !== "")
  for (const c of candidates) {
    if (spawnSync(c, ["-c", "import torch"], { stdio: "ignore" }).status === 0) return c
  }
  throw new Error(
    `No Python with PyTorch found (tried ${candidates.join(", ")}). The export test checks the exported model with an independent PyTorch reader: ` +
      "install it with `apt-get install -y python3-torch` (Debian), or point DPIPE_PYTHON at a python3 that has torch."
  )
}

export interface ReaderResult {
  /** transformers' causal-LM loss: mean over non-<pad> targets. */
  readonly meanLoss: number
  readonly tokens: number
  readonly totalNats: number
  /** Per target position, row-major [B * (S - 1)], 0 at <pad> targets. */
  readonly tokenLosses: ReadonlyArray<number>
}

/** Runs the reader on `dir` over `B` sequences of `S` tokens. */
export const readWithTorch = (dir: string, seqs: Int32Array, B: number, S: number, rope: "half" | "interleaved" = "half"): ReaderResult => {
  const rows = Array.from({ length: B }, (_, b) => Array.from(seqs.subarray(b * S, (b + 1) * S)))
  const file = join(mkdtempSync(join(tmpdir(), "dpipe-hf-")), "sequences.json")
  writeFileSync(file, JSON.stringify(rows))
  const out = execFileSync(torchPython(), [join(here, "hf_gemma_reader.py"), dir, file, "--rope", rope], { encoding: "utf8", maxBuffer: 256 * 1024 * 1024 })
  return JSON.parse(out) as ReaderResult
}
