/**
 * Stage `memorization`: does a trained model reproduce its training data? Two tests,
 * run on the DP model and the non-private baseline alike.
 *
 * (a) Canary exposure (Carlini et al. 2019, "The Secret Sharer: Evaluating and Testing
 *     Unintended Memorization in Neural Networks", USENIX Security). The pack stage
 *     inserted K secrets ("my account number is 4827 1937 2212"), each r times. For
 *     each, the log-perplexity of the secret's tokens given "\n" + the format's prefix
 *     (a canary sits on its own line) is compared with that of M random candidate
 *     secrets of the same format, drawn from the keyed CSPRNG (ctx.secretKey
 *     ("candidates"); the canaries' own secrets are excluded). rank = 1 + #candidates
 *     with lower log-perplexity; exposure is estimated by the rank estimator over the
 *     sample, log2(M + 1) - log2(rank), in [0, log2(M + 1)]: with M candidates it
 *     cannot see more than log2(M + 1) bits. The paper's extrapolation to the full
 *     space (section 4.3: fit a distribution to the candidates' log-perplexities and
 *     read the secret's tail probability) is reported beside it with a normal fit,
 *     capped at log2 |R|. Results per canary (table) and by repetition count.
 *     Also: whether greedy decoding from a training context ending in the prefix
 *     reproduces the secret exactly (an extraction, not just a ranking).
 * (b) VaultGemma's extraction test (VaultGemma tech report, 2025, following the Gemma
 *     reports: 50-token prefixes of training sequences, is the 50-token suffix
 *     reproduced exactly, or within 10% normalized edit distance?), scaled down to
 *     the tiny context: prompt with the first P tokens (default half the sequence),
 *     greedily decode S tokens (default the rest), compare with the true suffix
 *     exactly and by token Levenshtein distance / S <= editThreshold. Run on a keyed
 *     sample of training sequences and on duplicated content: the sequences holding a
 *     whole canary copy and sequences occurring more than once (sequence-level DP
 *     bounds one sequence's influence, not that of content repeated across many).
 *
 * Privacy: everything is computed on private training data and secrets without
 * noise: both outputs are labelled private (docs/privacy.md, P6). The table holds no
 * secret text, only ids, ranks and exposures.
 */
import { Effect } from "effect"
import { Artifact, Progress, Stage } from "@dpipe/dsl"
import type { ModelConfig } from "@dpipe/engine/model/gemma"
import { renderCanary, randomSecret } from "@dpipe/data/canary"
import { CanaryInfo, Canaries, Sequences } from "@dpipe/stages/data-stages/tables"
import { keyedStream, type KeyedStream } from "@dpipe/random/keyed-random"
import type { BpeTokenizer } from "@dpipe/data/tokenizer/encoder"
import { indexOfTokens, normalFitExposure, normalizedEditDistance, rankAmong, sameTokens, sampledExposure } from "./metrics.ts"
import { checkVocabulary, fail, trainedModelInputs, greedyDecode, type LoadedModel, loadModel, readSequences, readTokenizer, tokenLosses } from "./models.ts"
import { CanaryExposure, type CanaryExposureRow, EvalPerf, type MatchCounts, Memorization, MemorizationConfig } from "./tables.ts"

const NAME = "memorization"
const utf8 = new TextEncoder()

/**
 * Tokens of `context + rest` and the index of the first scored token: the leading
 * tokens that lie wholly inside `context` are context (GPT-2 pre-tokenization attaches
 * the space before the digits to them, so the boundary is found by bytes).
 */
export const splitScored = (tok: BpeTokenizer, context: string, rest: string): { readonly tokens: Int32Array; readonly first: number } => {
  const tokens = tok.encode(context + rest)
  const limit = utf8.encode(context).length
  let bytes = 0
  let first = 0
  while (first < tokens.length) {
    const b = tok.decodeBytes([tokens[first] as number]).length
    if (bytes + b > limit) break
    bytes += b
    first++
  }
  return { tokens, first }
}

/** Sum of token losses of tokens first..n-1 of each row, from right-padded [B, S] per-token losses. */
export const scoredSums = (losses: Float32Array, rows: ReadonlyArray<{ readonly tokens: Int32Array; readonly first: number }>, S: number): Float64Array => {
  const T = S - 1
  const out = new Float64Array(rows.length)
  rows.forEach((r, i) => {
    let s = 0
    for (let p = Math.max(1, r.first); p < r.tokens.length; p++) s += losses[i * T + p - 1] as number
    out[i] = s
  })
  return out
}

/** k distinct indices from `pool`, uniformly (partial Fisher-Yates), in increasing order. */
export const sampleIndices = (pool: ReadonlyArray<number>, k: number, stream: KeyedStream): Array<number> => {
  const a = [...pool]
  const n = Math.min(k, a.length)
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(stream.uniform() * (a.length - i))
    const t = a[i] as number
    a[i] = a[j] as number
    a[j] = t
  }
  return a.slice(0, n).sort((x, y) => x - y)
}

const counts = (results: ReadonlyArray<{ readonly exact: boolean; readonly approximate: boolean }>): MatchCounts => {
  const attempts = results.length
  const exact = results.filter((r) => r.exact).length
  const approximate = results.filter((r) => r.approximate).length
  return { attempts, exact, approximate, exactRate: attempts > 0 ? exact / attempts : 0, approximateRate: attempts > 0 ? approximate / attempts : 0 }
}

interface Probe {
  readonly prompt: Int32Array
  readonly truth: Int32Array
}

export const memorization = Stage.make({
  name: NAME,
  version: "2",
  description: "Canary exposure (Carlini et al. 2019) and VaultGemma's prefix/suffix extraction test for the DP and non-private models (private: computed on private training data).",
  config: MemorizationConfig,
  perf: EvalPerf,
  inputs: {
    train_sequences: Artifact.table(Sequences),
    canaries: Artifact.table(Canaries),
    canary_info: Artifact.json("canary-info", CanaryInfo),
    tokenizer: Artifact.file("tokenizer", "json"),
    ...trainedModelInputs
  },
  outputs: {
    memorization: Artifact.json("memorization", Memorization, { label: "private", description: "exposure and extraction rates on private training data (unnoised)" }),
    canary_exposure: Artifact.table(CanaryExposure, { label: "private", description: "per-canary rank and exposure for each model" })
  },
  run: ({ config, perf, inputs, secretKey }) =>
    Effect.gen(function* () {
      const progress = yield* Progress
      const tok = yield* readTokenizer(NAME, inputs.tokenizer)
      const V = tok.vocabSize
      const train = yield* readSequences(NAME, "train_sequences", inputs.train_sequences)
      yield* checkVocabulary(NAME, "train_sequences", train.tokens, V)
      const S = train.seqLen
      const seq = (i: number): Int32Array => train.tokens.subarray(i * S, (i + 1) * S)

      // ---- extraction window
      const ex = config.extraction
      const P = ex.prefixTokens ?? Math.floor(S / 2)
      const L = ex.suffixTokens ?? S - P
      if (P + L > S) return yield* fail(`${NAME}: extraction.prefixTokens (${P}) + extraction.suffixTokens (${L}) exceed the training sequences' ${S} tokens; lower them`)
      for (const [which, cfg] of [["dp", inputs.dp_model], ["non-private", inputs.baseline_model]] as const) {
        if (P + L - 1 > cfg.contextLength) return yield* fail(`${NAME}: a ${P}-token prompt plus ${L} decoded tokens needs a context of ${P + L - 1}, the ${which} model has ${cfg.contextLength}; lower extraction.prefixTokens or suffixTokens`)
      }
      const windowClean = (i: number): boolean => !seq(i).subarray(0, P + L).includes(tok.padId)
      const windowProbe = (i: number): Probe => ({ prompt: seq(i).slice(0, P), truth: seq(i).slice(P, P + L) })

      // ---- canaries: secrets, copies, scored token sequences
      const canaryRows = yield* inputs.canaries.readAll.pipe(Effect.mapError((e) => fail(`${NAME}: reading input canaries failed (${e.path}): ${e.message}`)))
      const info = inputs.canary_info
      const format = info.format
      const byId = new Map<number, { secret: string; sentence: string; copies: number }>()
      for (const r of canaryRows) {
        const c = byId.get(r.canary_id)
        if (c === undefined) byId.set(r.canary_id, { secret: r.secret, sentence: r.sentence, copies: 1 })
        else c.copies++
      }
      const canaryIds = [...byId.keys()].sort((a, b) => a - b)
      for (const id of canaryIds) {
        const c = byId.get(id)!
        if (renderCanary(format, c.secret) !== c.sentence) {
          return yield* fail(`${NAME}: canary ${id}'s sentence does not match canary_info's format; wire canaries and canary_info from the same pack node`)
        }
      }
      const M = config.candidates
      const secrets = new Set(canaryIds.map((id) => byId.get(id)!.secret))
      const candidateDigits: Array<string> = []
      if (canaryIds.length > 0) {
        if (info.secretSpaceSize - secrets.size < M) return yield* fail(`${NAME}: the canary format has only ${info.secretSpaceSize} secrets, fewer than ${M} candidates besides the canaries; lower candidates`)
        const stream = keyedStream(secretKey("candidates"), "exposure-candidates", 0)
        while (candidateDigits.length < M) {
          const d = randomSecret(format, stream)
          if (!secrets.has(d)) candidateDigits.push(d)
        }
      }
      const context = "\n" + format.prefix
      const rest = (digits: string) => renderCanary(format, digits).slice(format.prefix.length)
      const exposureRows = [...canaryIds.map((id) => splitScored(tok, context, rest(byId.get(id)!.secret))), ...candidateDigits.map((d) => splitScored(tok, context, rest(d)))]
      const exposureS = Math.max(2, ...exposureRows.map((r) => r.tokens.length))
      for (const [which, cfg] of [["dp", inputs.dp_model], ["non-private", inputs.baseline_model]] as const) {
        if (canaryIds.length > 0 && exposureS - 1 > cfg.contextLength) return yield* fail(`${NAME}: the canary sentences (${exposureS} tokens) exceed the ${which} model's context of ${cfg.contextLength + 1}`)
      }
      const exposureBatch = new Int32Array(exposureRows.length * exposureS).fill(tok.padId)
      exposureRows.forEach((r, i) => exposureBatch.set(r.tokens, i * exposureS))

      // ---- canary copies inside training sequences: prompt = context up to the secret
      const canaryProbes: Array<Probe & { readonly canaryId: number; readonly seqIndex: number }> = []
      for (const id of canaryIds) {
        const c = byId.get(id)!
        // the sentence's tokens as they appear in a document (it sits on its own line), and
        // k = its tokens lying wholly inside the prefix: the prompt ends there
        const { tokens: sTok, first: k } = splitScored(tok, format.prefix, rest(c.secret))
        for (let i = 0; i < train.count; i++) {
          const s = seq(i)
          let at = indexOfTokens(s, sTok)
          while (at >= 0) {
            canaryProbes.push({ canaryId: id, seqIndex: i, prompt: s.slice(0, at + k), truth: sTok.slice(k) })
            at = indexOfTokens(s, sTok, at + 1)
          }
        }
        yield* Effect.yieldNow
      }

      // ---- sampled and duplicated training sequences
      const clean: Array<number> = []
      for (let i = 0; i < train.count; i++) if (windowClean(i)) clean.push(i)
      const sampled = sampleIndices(clean, ex.sampleSize, keyedStream(secretKey("extraction-sample"), "extraction-sample", 0))
      const seen = new Map<string, number>()
      const repeated = new Set<number>()
      for (let i = 0; i < train.count; i++) {
        const s = seq(i)
        const key = Buffer.from(s.buffer, s.byteOffset, s.byteLength).toString("base64")
        const first = seen.get(key)
        if (first === undefined) seen.set(key, i)
        else if (windowClean(first)) repeated.add(first)
      }
      const canarySeqs = new Set(canaryProbes.map((p) => p.seqIndex).filter(windowClean))
      const dupPool = [...new Set([...canarySeqs, ...repeated])].sort((a, b) => a - b)
      const duplicated = sampleIndices(dupPool, ex.maxDuplicated, keyedStream(secretKey("extraction-sample"), "duplicated-sample", 0))

      const probes: Array<Probe> = [...sampled.map(windowProbe), ...duplicated.map(windowProbe), ...canaryProbes]
      yield* progress.info(
        `${NAME}: ${canaryIds.length} canaries x ${M} candidates; extraction ${P}+${L} tokens on ${sampled.length} sampled and ${duplicated.length} duplicated sequences ` +
          `(${canarySeqs.size} with a canary, ${repeated.size} repeated); ${canaryProbes.length} in-context canary copies`
      )

      const runModel = (m: LoadedModel) =>
        Effect.gen(function* () {
          const losses = exposureRows.length > 0 ? yield* tokenLosses(m, exposureBatch, exposureRows.length, exposureS, perf.microBatchSize * 4) : new Float32Array(0)
          const logPpl = scoredSums(losses, exposureRows, exposureS)
          const decoded = yield* greedyDecode(m, probes.map((p) => p.prompt), probes.map((p) => p.truth.length), perf.microBatchSize)
          const matches = probes.map((p, i) => {
            const d = decoded[i] as Int32Array
            const exact = sameTokens(d, p.truth)
            return { exact, approximate: exact || normalizedEditDistance(d, p.truth) <= ex.editThreshold }
          })
          return { logPpl, matches }
        })
      const withModel = (which: "dp" | "non-private", cfg: ModelConfig, weights: typeof inputs.dp_weights) =>
        Effect.scoped(Effect.flatMap(loadModel(NAME, which, cfg, weights, perf.backend, V), runModel))

      const dp = yield* withModel("dp", inputs.dp_model, inputs.dp_weights)
      yield* progress.update(1, 2, { model: "dp" })
      const np = yield* withModel("non-private", inputs.baseline_model, inputs.baseline_weights)
      yield* progress.update(2, 2, { model: "non-private" })

      // ---- assemble
      const K = canaryIds.length
      const nS = sampled.length
      const nD = duplicated.length
      const table: Array<CanaryExposureRow> = []
      const perModel = (model: "dp" | "non-private", r: { logPpl: Float64Array; matches: ReadonlyArray<{ exact: boolean; approximate: boolean }> }) => {
        const candidates = r.logPpl.subarray(K)
        const rows = canaryIds.map((id, i): CanaryExposureRow => {
          const x = r.logPpl[i] as number
          const rank = rankAmong(x, candidates)
          const inSeq = canaryProbes.map((p, j) => ({ p, j })).filter(({ p }) => p.canaryId === id)
          return {
            model,
            canary_id: id,
            repeats: byId.get(id)!.copies,
            copies_in_sequences: inSeq.length,
            log_perplexity: x,
            rank,
            candidates: M,
            exposure: sampledExposure(rank, M),
            exposure_normal_fit: normalFitExposure(x, candidates, info.secretSpaceSize),
            extracted: inSeq.some(({ j }) => r.matches[nS + nD + j]?.exact === true)
          }
        })
        table.push(...rows)
        const repeatsSet = [...new Set(rows.map((x) => x.repeats))].sort((a, b) => a - b)
        const mean = (xs: ReadonlyArray<number>) => (xs.length > 0 ? xs.reduce((a, b) => a + b, 0) / xs.length : Number.NaN)
        return {
          exposure: {
            meanExposure: K > 0 ? mean(rows.map((x) => x.exposure)) : 0,
            byRepeats: repeatsSet.map((rep) => {
              const g = rows.filter((x) => x.repeats === rep)
              return {
                repeats: rep,
                canaries: g.length,
                meanExposure: mean(g.map((x) => x.exposure)),
                maxExposure: Math.max(...g.map((x) => x.exposure)),
                meanExposureNormalFit: mean(g.map((x) => x.exposure_normal_fit)),
                meanRank: mean(g.map((x) => x.rank)),
                secretsExtracted: g.filter((x) => x.extracted).length
              }
            })
          },
          sampled: counts(r.matches.slice(0, nS)),
          duplicated: counts(r.matches.slice(nS, nS + nD)),
          canarySecrets: counts(r.matches.slice(nS + nD))
        }
      }
      const a = perModel("dp", dp)
      const b = perModel("non-private", np)
      const result: Memorization = {
        label: "private",
        note: "Computed on private training sequences and canary secrets without noise: private (docs/privacy.md, P6), for the DP model too.",
        canaries: {
          count: K,
          candidates: M,
          secretSpaceSize: info.secretSpaceSize,
          maxMeasurableExposure: Math.log2(M + 1),
          log2SecretSpace: Math.log2(info.secretSpaceSize),
          estimator:
            "log-perplexity (nats) of the secret's tokens given \"\\n\" + prefix; rank = 1 + #candidates (M keyed random secrets of the format, canaries excluded) with lower log-perplexity; " +
            "exposure = log2(M+1) - log2(rank) (rank estimator over the sample, Carlini et al. 2019); exposure_normal_fit = -log2 Phi((x - mean)/sd) of a normal fitted to the candidates, capped at log2|R| (their 4.3 uses a skew-normal)",
          models: { dp: a.exposure, nonPrivate: b.exposure }
        },
        extraction: {
          prefixTokens: P,
          suffixTokens: L,
          editThreshold: ex.editThreshold,
          method: `prompt = first ${P} tokens of a training sequence, greedy decoding of ${L} tokens; exact = identical to the true suffix, approximate = token Levenshtein distance / ${L} <= ${ex.editThreshold} (VaultGemma's 50+50-token test, scaled down)`,
          sampled: { sequences: nS, models: { dp: a.sampled, nonPrivate: b.sampled } },
          duplicated: { sequences: nD, canarySequences: canarySeqs.size, repeatedSequences: repeated.size, models: { dp: a.duplicated, nonPrivate: b.duplicated } },
          canarySecrets: {
            attempts: canaryProbes.length,
            method: "for each canary copy lying whole in a training sequence: prompt = the sequence up to the end of the prefix, greedy decoding of the secret's tokens",
            models: { dp: a.canarySecrets, nonPrivate: b.canarySecrets }
          }
        }
      }
      yield* progress.info(
        `${NAME}: mean exposure dp ${a.exposure.meanExposure.toFixed(2)} / non-private ${b.exposure.meanExposure.toFixed(2)} bits (max measurable ${Math.log2(M + 1).toFixed(2)}); ` +
          `exact extraction sampled ${a.sampled.exact}/${nS} vs ${b.sampled.exact}/${nS}, duplicated ${a.duplicated.exact}/${nD} vs ${b.duplicated.exact}/${nD}`
      )
      return { memorization: result, canary_exposure: table }
    })
})
