/**
 * Crash tests everywhere: the default pipeline at the micro scale is killed (SIGKILL)
 * at 20 points drawn by a seeded generator over every stage, resumed after each kill,
 * and must end with every artifact byte-identical to an uninterrupted run with the
 * same store secret, the same cache entries, the same privacy ledger, and no
 * temporary file left in the store.
 *
 * Kill points come from an uninterrupted reference run: its fault-point trace
 * (every write and rename of the store, DPIPE_TEST_FAULT_TRACE) gives each stage's
 * points: a chunk of an output file, the manifest, the rename of the finished entry,
 * a checkpoint file, a checkpoint's rename, the privacy ledger. A kill at a point is
 * the process killing itself there (DPIPE_TEST_FAULT=kill:..., see
 * packages/runtime/src/store/faults.ts). Long stages are also killed by the clock, at a
 * random time within the reference duration after the stage starts. Stages are visited
 * in the order the reference run finished them; a stage that finished as a side effect
 * of earlier resumes passes its share of kills to the next one.
 */
import { describe, expect, it } from "vitest"
import { copyFileSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { layout, readLedger } from "@dpipe/runtime"
import { artifactDigests, repoRoot, startCli, tempStore } from "../runtime/helpers.ts"

const SEED = 20
const KILLS = 20
const settings = ["--set", "dp-train.checkpointEvery=3", "--set", "baseline.checkpointEvery=3"]
const baseEnv = { DPIPE_PIPELINES: join(repoRoot, "pipelines") }

/** mulberry32: a small seeded generator, so the points are the same on every run. */
const rng = (seed: number) => {
  let a = seed >>> 0
  return (): number => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

interface RunEvent {
  readonly type: string
  readonly node?: string
  readonly durationMs?: number
  readonly time?: string
}

/** A kind of point in a stage, with how many times it occurs per execution (k is drawn in 1..count). */
interface PointType {
  readonly kind: string
  readonly fragment: string
  readonly count: number
}

const walk = (dir: string): Array<string> =>
  readdirSync(dir).flatMap((name) => {
    const p = join(dir, name)
    return statSync(p).isDirectory() ? [p, ...walk(p)] : [p]
  })

const runRecord = (store: string, runId: string) =>
  JSON.parse(readFileSync(join(store, "runs", runId, "run.json"), "utf8")) as { nodes: Record<string, { key?: string; status: string }> }

/** Each stage's point types, from the reference run's fault-point trace. */
const pointTypes = (trace: string, keys: Readonly<Record<string, string>>): Map<string, Array<PointType>> => {
  const byKey = new Map(Object.entries(keys).map(([node, key]) => [key, node]))
  const counts = new Map<string, { node: string; kind: string; fragment: string; count: number }>()
  for (const line of trace.trim().split("\n")) {
    const [kind = "", ...rest] = line.split(" ")
    const path = rest.join(" ")
    let node: string | undefined
    let fragment = ""
    const cache = /\/cache\/(?:\.tmp-)?([0-9a-f]{64})/.exec(path)
    const checkpoint = /\/stages\/([a-z0-9-]+)\/checkpoints\//.exec(path)
    if (cache !== null && byKey.has(cache[1]!)) {
      node = byKey.get(cache[1]!)
      fragment = kind === "rename" ? `cache/${cache[1]}` : cache[1]!
    } else if (checkpoint !== null) {
      node = checkpoint[1]
      fragment = kind === "rename" ? `/stages/${node}/checkpoints/step-` : `/stages/${node}/checkpoints/`
    } else if (path.includes("ledger.parquet")) {
      node = "dp-train"
      fragment = "ledger.parquet"
    }
    if (node === undefined) continue
    const id = `${node} ${kind} ${fragment}`
    const c = counts.get(id) ?? { node, kind, fragment, count: 0 }
    c.count++
    counts.set(id, c)
  }
  const out = new Map<string, Array<PointType>>()
  for (const c of counts.values()) {
    // Checkpoints and ledger writes of a resumed stage restart from its last checkpoint:
    // only the first save after a (re)start is sure to come (k in 1..2 picks its file).
    const count = c.kind === "checkpoint" ? 2 : c.fragment === "ledger.parquet" || c.kind === "rename" && c.fragment.includes("/checkpoints/") ? 1 : c.kind === "output" ? c.count : 1
    out.set(c.node, [...(out.get(c.node) ?? []), { kind: c.kind, fragment: c.fragment, count }])
  }
  return out
}

describe("vaultgemma-1b at the micro scale, killed at 20 random points", () => {
  it("resumes after every kill and ends byte-identical to an uninterrupted run, with no temporary file left", async () => {
    const started = Date.now()
    // The reference: uninterrupted, traced.
    const reference = tempStore()
    const tracePath = join(reference, "trace.txt")
    writeFileSync(tracePath, "")
    const ref = await startCli(["run", "vaultgemma-1b", "--scale", "micro", "--run-id", "ref", "--store", reference, "--json", ...settings], { ...baseEnv, DPIPE_TEST_FAULT_TRACE: tracePath }).done
    expect(ref.code, ref.stderr).toBe(0)
    const refEvents = ref.stdout.trim().split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as RunEvent)
    // Stages in the order they finished: a stage is visited before the stages that can
    // only start after it, and before a sibling that outlasts it.
    const order = refEvents.filter((e) => e.type === "stage-done").map((e) => e.node!)
    const duration = new Map(refEvents.filter((e) => e.type === "stage-done").map((e) => [e.node!, e.durationMs!]))
    const keys = Object.fromEntries(Object.entries(runRecord(reference, "ref").nodes).map(([k, n]) => [k, n.key!]))
    const points = pointTypes(readFileSync(tracePath, "utf8"), keys)
    expect(order.length).toBe(11)
    for (const node of order) expect(points.get(node)?.length ?? 0, `fault points of ${node}`).toBeGreaterThan(0)

    // Kills per stage: one each, the rest to the long stages.
    const quota = new Map(order.map((n) => [n, 1]))
    const extra: ReadonlyArray<string> = ["dp-train", "dp-train", "dp-train", "baseline", "baseline", "pack", "evaluate", "memorization", "tokenizer"]
    for (const n of extra) quota.set(n, quota.get(n)! + 1)
    expect([...quota.values()].reduce((a, b) => a + b, 0)).toBe(KILLS)

    const random = rng(SEED)
    const store = tempStore()
    copyFileSync(join(reference, "secret.key"), join(store, "secret.key"))
    const log: Array<string> = []
    let kills = 0
    let carried = 0
    for (const node of order) {
      let left = quota.get(node)! + carried
      carried = 0
      while (left > 0) {
        // Finished meanwhile (its status says so, or its cache entry was completed just
        // before a kill landed, ahead of the run record): the next stage takes its kills.
        const finished = () => ["done", "cached"].includes(runRecord(store, "crash").nodes[node]?.status ?? "") || existsSync(join(store, "cache", keys[node]!, "manifest.json"))
        if (kills > 0 && finished()) {
          carried = left
          break
        }
        const args = kills === 0 ? ["run", "vaultgemma-1b", "--scale", "micro", "--run-id", "crash", "--store", store, "--json", ...settings] : ["resume", "crash", "--store", store, "--json"]
        const byClock = (duration.get(node) ?? 0) > 300 && random() < 0.4
        let what: string
        let env: Record<string, string> = baseEnv
        if (byClock) {
          what = `clock +${Math.round(random() * duration.get(node)!)}ms`
        } else {
          const types = points.get(node)!
          const t = types[Math.floor(random() * types.length)]!
          const k = 1 + Math.floor(random() * t.count)
          what = `kill:${t.kind}:${t.fragment}@${k}`
          env = { ...baseEnv, DPIPE_TEST_FAULT: what }
        }
        const child = startCli(args, env)
        if (byClock) {
          const delay = Number(/\+(\d+)ms/.exec(what)![1])
          let buffer = ""
          let armed = false
          child.child.stdout!.on("data", (d) => {
            buffer += String(d)
            for (let i = buffer.indexOf("\n"); i >= 0; i = buffer.indexOf("\n")) {
              const line = buffer.slice(0, i)
              buffer = buffer.slice(i + 1)
              if (!line.startsWith("{")) continue
              const e = JSON.parse(line) as RunEvent
              // The stage's start arms the clock; its end (if sooner) fires it at once.
              if (e.node === node && e.type === "stage-start" && !armed) {
                armed = true
                setTimeout(() => child.child.kill("SIGKILL"), delay)
              } else if (e.node === node && e.type === "stage-done") child.child.kill("SIGKILL")
            }
          })
        }
        const result = await child.done
        log.push(`${kills + 1}. ${node}: ${what} -> ${result.signal ?? `exit ${result.code}`}`)
        expect(result.signal, `kill ${kills + 1} missed (the run ended first):\n${log.join("\n")}\n${result.stderr}`).toBe("SIGKILL")
        kills++
        left--
      }
    }
    expect(kills, log.join("\n")).toBe(KILLS)
    // Spread over the stages: a short stage may finish beside a longer sibling before its
    // turn (its kills then go to the next stage), so all but one must have been hit.
    const hit = new Set(log.map((l) => /^\d+\. ([a-z-]+):/.exec(l)![1]))
    expect(hit.size, log.join("\n")).toBeGreaterThanOrEqual(order.length - 1)

    const final = await startCli(["resume", "crash", "--store", store, "--json"], baseEnv).done
    expect(final.code, `${final.stderr}\n${log.join("\n")}`).toBe(0)
    // The same keys (one that differs names a stage whose code changed mid-test), and
    // every artifact, read back from the cache, byte-identical to the reference's.
    const crashKeys = Object.fromEntries(Object.entries(runRecord(store, "crash").nodes).map(([k, n]) => [k, n.key!]))
    expect(crashKeys).toEqual(keys)
    expect(artifactDigests(store, "crash")).toEqual(artifactDigests(reference, "ref"))
    // The same cache entries (nothing computed differently on the way), and no temporary left.
    expect(readdirSync(join(store, "cache")).sort()).toEqual(readdirSync(join(reference, "cache")).sort())
    expect(walk(store).filter((p) => p.includes("/.tmp-"))).toEqual([])
    const la = await readLedger(layout(reference).ledgerFile("ref"))
    const lb = await readLedger(layout(store).ledgerFile("crash"))
    expect(lb.map((e) => [e.id, e.steps, e.event])).toEqual(la.map((e) => [e.id, e.steps, e.event]))
    console.log(`crash test: ${kills} kills in ${((Date.now() - started) / 1000).toFixed(0)} s\n${log.join("\n")}`)
  }, 400_000)
})
