/**
 * data-tiny: the data part of DP pretraining on its own:
 *   corpus (SpamAssassin ham, private) -> split (by user) --\
 *   public-corpus (nlp-corpus + Brown) -> tokenizer (BPE) ---> pack (sequences + canaries)
 * Try:
 *   pnpm pipeline run data-tiny                      (tiny: ham groups, vocab 4096, seqLen 128)
 *   pnpm pipeline run data-tiny --scale micro        (a few hundred messages, vocab 512, seqLen 64)
 *   pnpm pipeline run data-tiny --set corpus.source=jsonl --set corpus.path=mail.jsonl --set corpus.userColumn=from
 * In code, your own data is a typed source (a typo such as `texColumn` does not compile):
 *   addDataStages(b, { source: Corpus.jsonl({ path: "mail.jsonl", textColumn: "body", userColumn: "from" }) })
 * (see own-mail.ts). `@dpipe/stages/data` is the data part alone: it does not load the training engine.
 */
import { Pipeline } from "@dpipe/dsl"
import { addDataStages, dataScales } from "@dpipe/stages/data"

export default Pipeline.make(
  "data-tiny",
  {
    description: "Private e-mail corpus -> user split; public text -> BPE tokenizer; both -> packed private sequences with canaries",
    scales: { micro: dataScales.micro, tiny: dataScales.tiny },
    defaultScale: "tiny"
  },
  (b) => {
    addDataStages(b)
  }
)
