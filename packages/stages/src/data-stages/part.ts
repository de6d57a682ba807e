/**
 * The data part of a pipeline, wired once so that every pipeline that trains on it
 * (data-tiny, vaultgemma-1b, ...) uses the same node ids, and with them the same
 * `--set` keys and scale presets:
 *
 *   corpus -> split --------------------\
 *   public-corpus -> tokenizer ----------> pack
 *
 * The private corpus is a typed argument (source.ts): `addDataStages(b, { source:
 * Corpus.jsonl({ path: "mail.jsonl", textColumn: "body", userColumn: "from" }) })`;
 * the default is SpamAssassin's ham. The base config is the `tiny` scale (vocabulary
 * 4096, 128-token sequences, 10 canaries x 4 copies); `dataScales` holds the presets,
 * written with `dataSettings`, which type-checks them against the stages' configs.
 */
import type { Pipeline, Settings } from "@dpipe/dsl"
import { settingsFor } from "@dpipe/dsl"
import { corpus } from "./corpus.ts"
import { pack } from "./pack.ts"
import { publicCorpus } from "./public-corpus.ts"
import { Corpus, type CorpusSourceSpec } from "./source.ts"
import { split } from "./split.ts"
import { tokenizer } from "./tokenizer.ts"

/** Handles of the data nodes, for wiring later stages (e.g. train on pack.out.train_sequences). */
export interface DataStageHandles {
  readonly corpus: Pipeline.NodeHandle<typeof corpus.outputs>
  readonly publicCorpus: Pipeline.NodeHandle<typeof publicCorpus.outputs>
  readonly split: Pipeline.NodeHandle<typeof split.outputs>
  readonly tokenizer: Pipeline.NodeHandle<typeof tokenizer.outputs>
  readonly pack: Pipeline.NodeHandle<typeof pack.outputs>
}

/** What the data part reads. */
export interface DataStageOptions {
  /** The private corpus (default `Corpus.spamAssassin()`, the ham groups). */
  readonly source?: CorpusSourceSpec
}

/** Adds the data stages to a pipeline under the ids corpus, public-corpus, split, tokenizer, pack. */
export const addDataStages = (b: Pipeline.Builder, options: DataStageOptions = {}): DataStageHandles => {
  const c = b.add("corpus", corpus, { config: options.source ?? Corpus.spamAssassin() })
  const s = b.add("split", split, { config: { seed: 1, evalFraction: 0.1 }, inputs: { documents: c.out.documents } })
  const p = b.add("public-corpus", publicCorpus, { config: { sources: ["nlp-corpus", "brown"] } })
  const t = b.add("tokenizer", tokenizer, { config: { vocabSize: 4096, minFrequency: 2 }, inputs: { texts: p.out.texts } })
  const k = b.add("pack", pack, {
    config: { seqLen: 128, canaries: { count: 10, repeats: 4 } },
    inputs: { tokenizer: t.out.tokenizer, train: s.out.train_documents, eval: s.out.eval_documents }
  })
  return { corpus: c, publicCorpus: p, split: s, tokenizer: t, pack: k }
}

/**
 * Typed settings of the data nodes for scale presets: `dataSettings({ tokenizer: { vocabSize: 512 } })`
 * gives `{ "tokenizer.vocabSize": 512 }`; a field the stage does not have fails `pnpm typecheck`.
 */
export const dataSettings = settingsFor({ corpus, "public-corpus": publicCorpus, split, tokenizer, pack })

/** Scale presets of the data part (merge them into a pipeline's own scales). */
export const dataScales: { readonly micro: Settings; readonly tiny: Settings } = {
  /** A few hundred messages (hard-ham-1), 20k public sentences, vocabulary 512, 64-token sequences: seconds. */
  micro: dataSettings({
    corpus: { groups: ["hard-ham-1"] },
    "public-corpus": { maxTexts: 20_000 },
    tokenizer: { vocabSize: 512 },
    pack: { seqLen: 64, canaries: { count: 3, repeats: 2 } }
  }),
  /** The ham groups (about 4,100 documents, 7.6 MB of text), vocabulary 4096, 128-token sequences. */
  tiny: dataSettings({ tokenizer: { vocabSize: 4096 }, pack: { seqLen: 128 } })
}
