/**
 * A full disk (ENOSPC injected at the store's writes through DPIPE_TEST_FAULT, see
 * packages/runtime/src/store/faults.ts) fails the run with a DiskFull error that says
 * what happened and how to continue, leaves the store consistent (no temporary files,
 * no half-written cache entry, manifest, checkpoint or ledger; every manifest verifies;
 * run.json decodes), and a resume once there is space again finishes with the same
 * artifacts as a run that never ran out of space.
 */
import { afterEach, describe, expect, it } from "vitest"
import { readdirSync, statSync } from "node:fs"
import { join } from "node:path"
import { Cause, Effect, Exit, Option, Schema } from "effect"
import { Artifact, Checkpoints, Pipeline, PrivacyLedger, Stage } from "@dpipe/dsl"
import { layout, readLedger, readRunRecord, resumePipeline, runPipeline, type RunSummary } from "@dpipe/runtime"
import { verifyCacheEntry } from "@dpipe/runtime/executor"
import toy from "./pipelines/toy.ts"
import { artifactDigests, listDir, tempStore } from "./helpers.ts"
import { sumAccountant } from "./toy-accountant.ts"

afterEach(() => {
  delete process.env["DPIPE_TEST_FAULT"]
})

/** Every path under `dir`. */
const walk = (dir: string): Array<string> =>
  readdirSync(dir).flatMap((name) => {
    const p = join(dir, name)
    return statSync(p).isDirectory() ? [p, ...walk(p)] : [p]
  })

/** The store holds no temporary file, every cache entry verifies and every run record decodes. */
const expectConsistent = async (store: string): Promise<void> => {
  expect(walk(store).filter((p) => p.split("/").some((part) => part.startsWith(".tmp-")))).toEqual([])
  for (const key of listDir(join(store, "cache"))) {
    const entry = await verifyCacheEntry(join(store, "cache", key), key)
    expect(typeof entry === "object" && entry !== null, `cache entry ${key}: ${String(entry)}`).toBe(true)
  }
  for (const run of listDir(join(store, "runs"))) {
    await Effect.runPromise(readRunRecord(layout(store).runFile(run), run))
    await readLedger(layout(store).ledgerFile(run))
  }
}

const diskFullOf = <A>(exit: Exit.Exit<A, unknown>): { readonly _tag: string; readonly message: string } => {
  expect(Exit.isFailure(exit)).toBe(true)
  return Exit.isFailure(exit) ? (Cause.squash(exit.cause) as { _tag: string; message: string }) : { _tag: "", message: "" }
}

/** A toy DP mechanism that records its spend and a checkpoint at every step. */
const mechanism = Stage.make({
  name: "toy-disk-mechanism",
  version: "1",
  config: Schema.Struct({ steps: Schema.Int }),
  outputs: { release: Artifact.json("release", Schema.Number) },
  mechanism: { predict: (c) => [{ kind: "toy", epsilonPerStep: 0.1, steps: c.steps }] },
  run: ({ config, stageKey }) =>
    Effect.gen(function* () {
      const ledger = yield* PrivacyLedger
      const checkpoints = yield* Checkpoints
      const latest = yield* checkpoints.latest
      let step = Option.isSome(latest) ? latest.value.step : 0
      while (step < config.steps) {
        step++
        yield* ledger.record({ id: `${stageKey}:spend`, event: { kind: "toy", epsilonPerStep: 0.1, steps: step }, steps: step })
        yield* checkpoints.save({ step, tensors: {}, state: null })
      }
      return { release: step }
    })
})

const dpGraph = Pipeline.make("disk-toy", { privacy: { budget: { epsilon: 2, delta: 1e-6 }, accountants: [sumAccountant] } }, (b) => {
  b.add("dp", mechanism, { config: { steps: 6 } })
})

describe("a full disk", () => {
  it("while a stage writes its outputs: DiskFull naming the stage and the fix; no half-written entry; resume finishes", async () => {
    const reference = tempStore()
    await Effect.runPromise(runPipeline(toy, { store: reference, runId: "ref" }))

    const store = tempStore()
    process.env["DPIPE_TEST_FAULT"] = "enospc:output:squares.parquet@1"
    const error = diskFullOf(await Effect.runPromiseExit(runPipeline(toy, { store, runId: "full" })))
    expect(error._tag).toBe("DiskFull")
    expect(error.message).toMatch(/No space left on the disk holding the run store/)
    expect(error.message).toMatch(/stage square/)
    expect(error.message).toMatch(/Free space on that disk.*pnpm pipeline resume full/)
    const record = await Effect.runPromise(readRunRecord(layout(store).runFile("full"), "full"))
    expect(record.nodes["square"]!.status).toBe("failed")
    expect(record.nodes["generate"]!.status).toBe("done")
    expect(readdirSync(join(store, "cache"))).not.toContain(record.nodes["square"]!.key)
    await expectConsistent(store)

    delete process.env["DPIPE_TEST_FAULT"]
    const resumed: RunSummary = await Effect.runPromise(resumePipeline(toy, { store, runId: "full" }))
    expect(resumed.record.status).toBe("succeeded")
    expect(resumed.executed).toContain("square")
    expect(artifactDigests(store, "full")).toEqual(artifactDigests(reference, "ref"))
    await expectConsistent(store)
  })

  it("while the privacy ledger and checkpoints are written: the last complete ledger stands, resume counts the spend once", async () => {
    const reference = tempStore()
    await Effect.runPromise(runPipeline(dpGraph, { store: reference, runId: "ref" }))
    const refLedger = await readLedger(layout(reference).ledgerFile("ref"))

    const store = tempStore()
    // From the third ledger write on, the disk is full.
    process.env["DPIPE_TEST_FAULT"] = "enospc:ledger@3"
    const error = diskFullOf(await Effect.runPromiseExit(runPipeline(dpGraph, { store, runId: "full" })))
    expect(error._tag).toBe("DiskFull")
    expect(error.message).toMatch(/stage dp/)
    expect((await readLedger(layout(store).ledgerFile("full"))).map((e) => e.steps)).toEqual([2])
    await expectConsistent(store)

    process.env["DPIPE_TEST_FAULT"] = "enospc:checkpoint@1"
    expect(diskFullOf(await Effect.runPromiseExit(resumePipeline(dpGraph, { store, runId: "full" })))._tag).toBe("DiskFull")
    await expectConsistent(store)

    delete process.env["DPIPE_TEST_FAULT"]
    const resumed = await Effect.runPromise(resumePipeline(dpGraph, { store, runId: "full" }))
    expect(resumed.record.status).toBe("succeeded")
    const ledger = await readLedger(layout(store).ledgerFile("full"))
    expect(ledger.map((e) => [e.id, e.steps, e.event])).toEqual(refLedger.map((e) => [e.id, e.steps, e.event]))
    expect(artifactDigests(store, "full")).toEqual(artifactDigests(reference, "ref"))
    await expectConsistent(store)
  })

  it("that stays full for every later write, run records included: DiskFull, a consistent store, and resume finishes", async () => {
    const reference = tempStore()
    await Effect.runPromise(runPipeline(toy, { store: reference, runId: "ref" }))
    for (const at of [4, 9, 15]) {
      const store = tempStore()
      process.env["DPIPE_TEST_FAULT"] = `enospc:any@${at}`
      const error = diskFullOf(await Effect.runPromiseExit(runPipeline(toy, { store, runId: "full" })))
      expect(error._tag, `${error._tag}: ${error.message}`).toBe("DiskFull")
      await expectConsistent(store)
      delete process.env["DPIPE_TEST_FAULT"]
      const resumed = await Effect.runPromise(resumePipeline(toy, { store, runId: "full" }))
      expect(resumed.record.status).toBe("succeeded")
      expect(artifactDigests(store, "full")).toEqual(artifactDigests(reference, "ref"))
      await expectConsistent(store)
    }
  })
})
