/** Helpers for runtime tests: temporary stores, running the CLI as a child process. */
import { spawn, type ChildProcess } from "node:child_process"
import { createHash } from "node:crypto"
import { mkdtempSync, readdirSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { Effect } from "effect"

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..")
export const testPipelines = join(repoRoot, "test/runtime/pipelines")

export const tempStore = (): string => mkdtempSync(join(tmpdir(), "dpipe-test-"))

export const run = <A, E>(effect: Effect.Effect<A, E>): Promise<A> => Effect.runPromise(effect)

export interface CliResult {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

export const startCli = (args: ReadonlyArray<string>, env: Record<string, string> = {}): { child: ChildProcess; done: Promise<CliResult>; output: () => string } => {
  const child = spawn(process.execPath, [join(repoRoot, "bin/pipeline.ts"), ...args], {
    cwd: repoRoot,
    env: { ...process.env, DPIPE_PIPELINES: testPipelines, ...env },
    stdio: ["ignore", "pipe", "pipe"]
  })
  let stdout = ""
  let stderr = ""
  child.stdout!.on("data", (d) => (stdout += String(d)))
  child.stderr!.on("data", (d) => (stderr += String(d)))
  const done = new Promise<CliResult>((res) => child.on("close", (code, signal) => res({ code, signal, stdout, stderr })))
  return { child, done, output: () => stdout }
}

export const cli = (args: ReadonlyArray<string>, env: Record<string, string> = {}): Promise<CliResult> => startCli(args, env).done

/** Output file hashes of every node of a run, from its run.json. */
export const outputHashes = (store: string, runId: string): Record<string, Record<string, string>> => {
  const record = JSON.parse(readFileSync(join(store, "runs", runId, "run.json"), "utf8")) as {
    nodes: Record<string, { outputs?: Record<string, { hash: string }> }>
  }
  return Object.fromEntries(Object.entries(record.nodes).map(([id, n]) => [id, Object.fromEntries(Object.entries(n.outputs ?? {}).map(([k, o]) => [k, o.hash]))]))
}

/**
 * The sha256 of the bytes on disk of every artifact of a run (node.output -> hash), read
 * back from the cache rather than taken from run.json, plus the files the run published.
 */
export const artifactDigests = (store: string, runId: string): Record<string, string> => {
  const record = JSON.parse(readFileSync(join(store, "runs", runId, "run.json"), "utf8")) as {
    nodes: Record<string, { key?: string; outputs?: Record<string, { file: string }> }>
  }
  const out: Record<string, string> = {}
  for (const [id, n] of Object.entries(record.nodes)) {
    for (const [name, o] of Object.entries(n.outputs ?? {})) {
      out[`${id}.${name}`] = createHash("sha256").update(readFileSync(join(store, "cache", n.key!, o.file))).digest("hex")
    }
  }
  for (const file of listDir(join(store, "runs", runId))) {
    if (file.endsWith(".html")) out[`published:${file}`] = createHash("sha256").update(readFileSync(join(store, "runs", runId, file))).digest("hex")
  }
  return out
}

export const listDir = (p: string): Array<string> => {
  try {
    return readdirSync(p)
  } catch {
    return []
  }
}

export const waitFor = async (cond: () => boolean, timeoutMs: number, what: string): Promise<void> => {
  const start = Date.now()
  while (!cond()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}
