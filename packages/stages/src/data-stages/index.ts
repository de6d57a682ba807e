/**
 * The data part of DP pretraining, as dpipe stages:
 *   corpus        (source)  -> documents (private), report (private)
 *   public-corpus (source)  -> texts (public)
 *   split         documents -> train_documents, eval_documents (private)
 *   tokenizer     texts (requires public) -> tokenizer.json, report (public)
 *   pack          tokenizer, train, eval -> train_sequences, eval_sequences,
 *                 canaries, canary_info (private)
 * `addDataStages` wires them into a pipeline under the node ids used by the scale
 * presets (corpus, public-corpus, split, tokenizer, pack).
 */
export { corpus, CorpusConfig, CorpusSource } from "./corpus.ts"
export { pack, PackStageConfig, CanarySettings } from "./pack.ts"
export { addDataStages, dataScales, type DataStageHandles } from "./part.ts"
export { publicCorpus, PublicCorpusConfig, PublicSource } from "./public-corpus.ts"
export { split, SplitStageConfig } from "./split.ts"
export { Canaries, CanaryInfo, CorpusReport, Documents, PublicTexts, Sequences, TokenizerReport } from "./tables.ts"
export { tokenizer, TokenizerConfig } from "./tokenizer.ts"
