/**
 * `pnpm bench runtime`: orchestration overhead per no-op stage (200-stage chain, cold
 * and cached), Parquet write/read throughput for a 1M-row table of 128-token int32
 * sequences, and peak RSS while writing it. Prints figures; asserts nothing.
 */
import { Effect, Schema } from "effect"
import { mkdtempSync, rmSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Artifact, Col, makeTable, Pipeline, Stage } from "@dpipe/dsl"
import { collectingReporter, readParquetTable, runPipeline, writeParquetTable } from "@dpipe/runtime"

const Tokens = makeTable("bench_sequences", { seq_id: Col.int64, tokens: Col.int32List })

const parquetBench = async (dir: string, rows: number, seqLen: number) => {
  const path = join(dir, "seq.parquet")
  let peak = process.memoryUsage().rss
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20)
  const rssBefore = process.memoryUsage().rss
  let x = 2463534242
  function* gen() {
    for (let i = 0; i < rows; i++) {
      const t = new Int32Array(seqLen)
      for (let j = 0; j < seqLen; j++) {
        // xorshift32: token ids with realistic entropy (12 bits), not a compressible pattern
        x ^= x << 13
        x ^= x >>> 17
        x ^= x << 5
        t[j] = (x >>> 0) % 4096
      }
      yield { seq_id: i, tokens: t }
    }
  }
  const t0 = performance.now()
  const w = await writeParquetTable(path, Tokens, gen())
  const writeS = (performance.now() - t0) / 1000
  clearInterval(sampler)
  const rawMb = (rows * seqLen * 4) / 1e6
  const t1 = performance.now()
  let n = 0
  let check = 0
  for await (const batch of readParquetTable(path, Tokens, 16384)) {
    n += batch.length
    check += batch[0]!.tokens[0]!
  }
  const readS = (performance.now() - t1) / 1000
  return { rawMb, fileMb: statSync(path).size / 1e6, writeS, readS, rows: n, check, peakRssMb: peak / 1e6, rssBeforeMb: rssBefore / 1e6, bytes: w.bytes }
}

const noop = Stage.make({
  name: "bench-noop",
  version: "1",
  config: Schema.Struct({ i: Schema.Number }),
  inputs: {},
  outputs: { value: Artifact.json("bench-value", Schema.Number, { label: "public" }) },
  run: ({ config }) => Effect.succeed({ value: config.i })
})
const link = Stage.make({
  name: "bench-link",
  version: "1",
  config: Schema.Struct({ i: Schema.Number }),
  inputs: { prev: Artifact.json("bench-value", Schema.Number) },
  outputs: { value: Artifact.json("bench-value", Schema.Number) },
  run: ({ config, inputs }) => Effect.succeed({ value: inputs.prev + config.i })
})

const chain = (n: number) =>
  Pipeline.make("bench-chain", { concurrency: 1 }, (b) => {
    let prev = b.add("s0", noop, { config: { i: 0 } })
    for (let i = 1; i < n; i++) prev = b.add(`s${i}`, link, { config: { i }, inputs: { prev: prev.out.value } })
  })

export const main = async (argv: ReadonlyArray<string>): Promise<void> => {
  const json = argv.includes("--json")
  const dir = mkdtempSync(join(tmpdir(), "dpipe-bench-"))
  try {
    const rows = Number(process.env["BENCH_ROWS"] ?? 1_000_000)
    const p = await parquetBench(dir, rows, 128)
    const stages = 200
    const graph = chain(stages)
    const store = join(dir, "store")
    const t0 = performance.now()
    await Effect.runPromise(runPipeline(graph, { store, runId: "cold", reporter: collectingReporter() }))
    const coldMs = performance.now() - t0
    const t1 = performance.now()
    await Effect.runPromise(runPipeline(graph, { store, runId: "warm", reporter: collectingReporter() }))
    const warmMs = performance.now() - t1
    const result = {
      noopStageMs: coldMs / stages,
      cachedStageMs: warmMs / stages,
      parquetRows: p.rows,
      parquetRawMb: p.rawMb,
      parquetFileMb: p.fileMb,
      parquetWriteMBps: p.rawMb / p.writeS,
      parquetReadMBps: p.rawMb / p.readS,
      peakRssWhileWritingMb: p.peakRssMb,
      rssBeforeWritingMb: p.rssBeforeMb
    }
    if (json) {
      console.log(JSON.stringify(result))
      return
    }
    console.log(`orchestration: ${stages}-stage chain of no-op stages`)
    console.log(`  executed: ${result.noopStageMs.toFixed(2)} ms per stage (${(coldMs / 1000).toFixed(2)} s total; includes atomic writes + fsync of outputs, manifest and run.json)`)
    console.log(`  cached:   ${result.cachedStageMs.toFixed(2)} ms per stage (${(warmMs / 1000).toFixed(2)} s total; includes re-hashing every cached output)`)
    console.log(`parquet: ${p.rows.toLocaleString()} rows x 128 int32 tokens = ${p.rawMb.toFixed(0)} MB raw -> ${p.fileMb.toFixed(0)} MB file (zstd)`)
    console.log(`  write: ${result.parquetWriteMBps.toFixed(1)} MB/s (${p.writeS.toFixed(2)} s, including generating the rows)`)
    console.log(`  read:  ${result.parquetReadMBps.toFixed(1)} MB/s (${p.readS.toFixed(2)} s, to JS row objects)`)
    console.log(`  peak RSS while writing: ${p.peakRssMb.toFixed(0)} MB (RSS before: ${p.rssBeforeMb.toFixed(0)} MB; the raw table is ${p.rawMb.toFixed(0)} MB)`)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
