/**
 * What a new user hit with resume, status and inspect: the printed resume command works
 * when pasted (it keeps --store), `status` shows interrupted stages with their checkpoint
 * step, `resume --set` fixes a failed stage's setting, `plan` notices a missing input
 * file, an unknown flag is a short usage error, and `inspect --output` names valid outputs.
 */
import { describe, expect, it } from "vitest"
import { readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { cli, listDir, repoRoot, startCli, tempStore, waitFor } from "./helpers.ts"

const selectionPipelines = { DPIPE_PIPELINES: join(repoRoot, "test/runtime/pipelines-selection") }

/** The words of a printed `pnpm pipeline ...` command (unquoted paths only), without `pnpm pipeline`. */
const pasted = (line: string): Array<string> => {
  const m = /pnpm pipeline ([^`\n]*)/.exec(line)
  if (m === null) throw new Error(`no command in: ${line}`)
  return m[1]!.trim().split(/\s+/)
}

describe("resume and status", () => {
  it("the resume command printed after Ctrl-C works when pasted, and status shows the interrupted stage and its checkpoint step", async () => {
    const store = tempStore()
    const env = { DPIPE_STORE: "" }
    const first = startCli(["run", "toy", "--scale", "long", "--run-id", "cut", "--store", store, "--set", "accumulate.stepMs=80"], env)
    await waitFor(() => listDir(join(store, "runs/cut/stages/accumulate/checkpoints")).length >= 1, 60_000, "a checkpoint")
    first.child.kill("SIGINT")
    const done = await first.done
    expect(done.code).toBe(130)
    const hint = `${done.stdout}\n${done.stderr}`.split("\n").find((l) => l.includes("Continue with:"))!
    const args = pasted(hint)
    expect(args).toContain("--store")

    const status = await cli(["status", "cut", "--store", store])
    expect(status.code).toBe(0)
    expect(status.stdout).toMatch(/accumulate\s+demo-accumulate\s+interrupted/)
    expect(status.stdout).not.toMatch(/\brunning\b/)
    expect(status.stdout).toMatch(/accumulate: interrupted; last checkpoint at step \d+/)
    expect(pasted(status.stdout.split("\n").find((l) => l.startsWith("continue with:"))!)).toEqual(args)

    // Pasted as printed, from the repository root, with no DPIPE_STORE.
    const resumed = await cli(args, env)
    expect(resumed.stderr).not.toContain("RunNotFound")
    expect(resumed.code).toBe(0)
    expect(JSON.parse(readFileSync(join(store, "runs/cut/run.json"), "utf8")).status).toBe("succeeded")
  }, 180_000)

  it("plan notices a missing input file; after the failure resume --set fixes the setting and reuses finished stages", async () => {
    const store = tempStore()
    const missing = join(store, "nope.txt")
    const plan = await cli(["plan", "select-toy", "--store", store, "--set", `source.path=${missing}`], selectionPipelines)
    expect(plan.stdout).toMatch(/source\s+\S+\s+missing-input/)
    expect(plan.stdout).toContain(`MISSING INPUT: ${missing} does not exist; point source.path at it (--set source.path=PATH)`)
    expect(plan.stdout).not.toMatch(/source\s+\S+\s+will-run/)

    const failed = await cli(["run", "select-toy", "--store", store, "--set", `source.path=${missing}`, "--run-id", "f"], selectionPipelines)
    expect(failed.code).toBe(1)
    expect(failed.stderr).toContain("--set")
    const hint = pasted(failed.stderr)
    expect(hint.slice(0, 2)).toEqual(["resume", "f"])
    expect(hint).toContain("--store")

    const good = join(store, "numbers.txt")
    writeFileSync(good, "1\n2\n3\n")
    const resumed = await cli([...hint, "--set", `source.path=${good}`, "--json"], selectionPipelines)
    expect(resumed.stderr).toBe("")
    expect(resumed.code).toBe(0)
    const events = resumed.stdout.trim().split("\n").map((l) => JSON.parse(l) as { type: string; node?: string })
    const started = events.filter((e) => e.type === "stage-start").map((e) => e.node)
    expect(started.sort()).toEqual(["dp", "report", "source"])
    // The branch that had finished is reused from the cache.
    expect(events.filter((e) => e.type === "stage-cached").map((e) => e.node)).toEqual(["constant"])
    const record = JSON.parse(readFileSync(join(store, "runs/f/run.json"), "utf8"))
    expect(record.status).toBe("succeeded")
    expect(record.settings["source.path"]).toBe(good)
  }, 180_000)

  it("an unknown flag is a short usage error, not the whole help page", async () => {
    const r = await cli(["resume", "x", "--bogus"])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain("Unrecognized flag: --bogus")
    expect(r.stderr).toContain("usage: pipeline resume")
    expect(`${r.stdout}${r.stderr}`).not.toContain("ShowHelp")
    expect(`${r.stdout}${r.stderr}`).not.toContain("GLOBAL FLAGS")
  }, 60_000)

  it("inspect --output with an unknown output is an error listing the valid ones", async () => {
    const store = tempStore()
    expect((await cli(["run", "toy", "--store", store, "--run-id", "i"])).code).toBe(0)
    const r = await cli(["inspect", "i", "accumulate", "--output", "nope", "--store", store])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain(`no output "nope"`)
    expect(r.stderr).toContain("Its outputs: totals, state")
    const ok = await cli(["inspect", "i", "accumulate", "--output", "totals", "--store", store])
    expect(ok.code).toBe(0)
    expect(ok.stdout).toContain(`"output": "totals"`)
  }, 120_000)
})
