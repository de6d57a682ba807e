/** Type-level tests: wiring is checked by the compiler. */
import { expectTypeOf, test } from "vitest"
import { Pipeline } from "@dpipe/dsl"
import { load, pack, publicOnly } from "./fixtures.ts"

test("a table of one row schema cannot be wired into an input of another", () => {
  Pipeline.make("typed", {}, (b) => {
    const l = b.add("load", load, { config: { count: 1, prefix: "" } })
    const p = b.add("pack", pack, { config: { seqLen: 4 }, inputs: { documents: l.out.documents } })
    expectTypeOf(p.out.sequences.spec.table.name).toEqualTypeOf<"sequences">()
    // @ts-expect-error: sequences is not documents
    b.add("pack2", pack, { config: { seqLen: 4 }, inputs: { documents: p.out.sequences } })
    // @ts-expect-error: a required input may not be left out
    b.add("pack3", pack, { config: { seqLen: 4 } })
    // @ts-expect-error: config fields are typed
    b.add("pack4", pack, { config: { seqLen: "long" }, inputs: { documents: l.out.documents } })
    b.add("vocab", publicOnly, { inputs: { corpus: l.out.documents } })
  })
})
