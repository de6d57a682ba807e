/**
 * The data part of DP pretraining, as dpipe stages:
 *   corpus        (source)  -> documents (private), report (private)
 *   public-corpus (source)  -> texts (public)
 *   split         documents -> train_documents, eval_documents (private)
 *   tokenizer     texts (requires public) -> tokenizer.json, report (public)
 *   pack          tokenizer, train, eval -> train_sequences, eval_sequences,
 *                 canaries, canary_info (private)
 * `addDataStages(b, { source })` wires them into a pipeline under the node ids used by
 * the scale presets (corpus, public-corpus, split, tokenizer, pack); `Corpus.jsonl(...)`
 * and friends are the typed sources; `dataSettings` writes type-checked presets.
 */
export { corpus, CorpusConfig, CorpusSource } from "./corpus.ts"
export { pack, PackStageConfig, CanarySettings } from "./pack.ts"
export { addDataStages, dataScales, dataSettings, type DataStageHandles, type DataStageOptions } from "./part.ts"
export { Corpus, type CorpusSourceSpec, type JsonlSource, type SpamAssassinSource, type TextFolderSource } from "./source.ts"
export { DEFAULT_MAX_MALFORMED_SHARE } from "./malformed.ts"
export { publicCorpus, PublicCorpusConfig, PublicSource } from "./public-corpus.ts"
export { split, SplitStageConfig } from "./split.ts"
export { Canaries, CanaryInfo, CorpusReport, Documents, PublicTexts, Sequences, TokenizerReport } from "./tables.ts"
export { tokenizer, TokenizerConfig } from "./tokenizer.ts"
