/**
 * `pnpm bench data`: throughput of the data stages' library core.
 *   - corpus parse throughput (MB/s of raw message text, SpamAssassin ham groups);
 *   - tokenizer training time (vocab 4096, and 32768, on nlp-corpus + Brown);
 *     `--full` adds vocab 256000;
 *   - encoding throughput (MB/s, one core) on the e-mail bodies: dpipe's encoder and
 *     the HF `tokenizers` library on the same tokenizer.json;
 *   - Poisson sampler time per step at N = 1e6, q = 1e-3 and N = 1e9, q = 5e-4.
 * Prints figures; asserts nothing.
 */
import { messagesToDocuments } from "@dpipe/data/corpus"
import { publicTokenizerTexts } from "@dpipe/data/public-corpora"
import { newLoadStats, type RawMessage } from "@dpipe/data/schema"
import { loadSpamAssassin } from "@dpipe/data/spam-assassin"
import { poissonBatch } from "@dpipe/engine/sampling/poisson"
import { truncatedPoissonBatch } from "@dpipe/engine/sampling/truncated"
import { BpeTokenizer } from "@dpipe/data/tokenizer/encoder"
import { toTokenizerJson } from "@dpipe/data/tokenizer/hf-json"
import { hfEncode, hfTokenizerFromJson } from "@dpipe/data/tokenizer/hf-library"
import { countPieces, trainBpeFromCounts } from "@dpipe/data/tokenizer/train"
import { generateKey } from "@dpipe/random/keyed-random"

const mb = (bytes: number): string => (bytes / 1e6).toFixed(2)
const time = <A>(f: () => A): readonly [A, number] => {
  const t0 = performance.now()
  const a = f()
  return [a, (performance.now() - t0) / 1000] as const
}

export const main = async (argv: ReadonlyArray<string>): Promise<void> => {
  const full = argv.includes("--full")

  // 1. corpus parsing
  const [messages, readS] = time(() => [...loadSpamAssassin()] as Array<RawMessage>)
  const rawBytes = messages.reduce((a, m) => a + Buffer.byteLength(m.text), 0)
  const stats = newLoadStats()
  const [docs, parseS] = time(() => [...messagesToDocuments(messages, stats)])
  const docBytes = docs.reduce((a, d) => a + d.bytes, 0)
  console.log(`corpus: ${messages.length} ham messages, ${mb(rawBytes)} MB raw -> ${docs.length} documents, ${mb(docBytes)} MB text (${stats.duplicates} duplicates, ${stats.malformed} malformed)`)
  console.log(`corpus: read JSON ${readS.toFixed(2)} s (${(rawBytes / 1e6 / readS).toFixed(1)} MB/s); parse ${parseS.toFixed(2)} s = ${(rawBytes / 1e6 / parseS).toFixed(1)} MB/s of raw mail`)

  // 2. tokenizer training
  const [texts, loadS] = time(() => [...publicTokenizerTexts()])
  const pubBytes = texts.reduce((a, t) => a + Buffer.byteLength(t), 0)
  const [counts, countS] = time(() => countPieces(texts))
  console.log(`tokenizer: public text ${mb(pubBytes)} MB loaded in ${loadS.toFixed(2)} s; pre-tokenized and counted in ${countS.toFixed(2)} s (${counts.size} distinct pieces)`)
  const sizes = full ? [4096, 32768, 256000] : [4096, 32768]
  let tokenizer: BpeTokenizer | undefined
  let json = ""
  for (const vocabSize of sizes) {
    const [r, trainS] = time(() => trainBpeFromCounts(counts, { vocabSize }))
    console.log(`tokenizer: vocab ${vocabSize}: merges ${trainS.toFixed(2)} s (total with counting ${(trainS + countS).toFixed(2)} s), ${r.model.tokens.length} tokens${r.exhausted ? " (corpus exhausted)" : ""}`)
    if (vocabSize === 4096) {
      tokenizer = new BpeTokenizer(r.model)
      json = toTokenizerJson(r.model)
    }
  }
  if (tokenizer === undefined) return

  // 3. encoding throughput on e-mail bodies
  const bodies = docs.map((d) => d.text)
  const bodyBytes = bodies.reduce((a, t) => a + Buffer.byteLength(t), 0)
  const [nTok, encS] = time(() => bodies.reduce((a, t) => a + (tokenizer as BpeTokenizer).encode(t).length, 0))
  console.log(`encode (dpipe, 1 core, vocab 4096): ${mb(bodyBytes)} MB -> ${nTok} tokens in ${encS.toFixed(2)} s = ${(bodyBytes / 1e6 / encS).toFixed(1)} MB/s (${(bodyBytes / nTok).toFixed(2)} bytes/token)`)
  const fresh = new BpeTokenizer(tokenizer.model)
  const [, coldS] = time(() => bodies.slice(0, 500).reduce((a, t) => a + fresh.encode(t).length, 0))
  const coldBytes = bodies.slice(0, 500).reduce((a, t) => a + Buffer.byteLength(t), 0)
  console.log(`encode (dpipe, cold piece cache, first 500 docs): ${(coldBytes / 1e6 / coldS).toFixed(1)} MB/s`)
  const hf = hfTokenizerFromJson(json)
  const t0 = performance.now()
  for (const t of bodies) await hfEncode(hf, t)
  const hfS = (performance.now() - t0) / 1000
  console.log(`encode (HF tokenizers, one call at a time): ${(bodyBytes / 1e6 / hfS).toFixed(1)} MB/s`)

  // 4. sampler
  const key = generateKey()
  for (const [n, q, steps] of [[1e6, 1e-3, 2000], [1e9, 5e-4, 20]] as const) {
    poissonBatch(key, 0, n, q)
    let total = 0
    const [, s] = time(() => {
      for (let t = 1; t <= steps; t++) total += poissonBatch(key, t, n, q).length
    })
    console.log(`sampler: N=${n.toExponential(0)} q=${q}: ${(s / steps * 1000).toFixed(3)} ms/step (mean batch ${(total / steps).toFixed(0)}, expected ${n * q})`)
  }
  const cap = Math.round(1e9 * 5e-4 * 1.01)
  const [, ts] = time(() => {
    for (let t = 1; t <= 10; t++) truncatedPoissonBatch(key, t, 1e9, 5e-4, cap)
  })
  console.log(`sampler: truncated to B=${cap} at N=1e9 q=5e-4: ${(ts / 10 * 1000).toFixed(1)} ms/step`)
}
