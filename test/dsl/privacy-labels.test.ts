/** Privacy labels: their order public < dp < private, propagation and the public-only rule (docs/privacy.md, P6 and P9). */
import { describe, expect, it } from "vitest"
import { Schema } from "effect"
import { joinLabels, PrivacyLabel, propagate, satisfies, unionProvenance } from "@dpipe/dsl/privacy"

describe("privacy labels", () => {
  it("decode exactly public, dp and private", () => {
    for (const l of ["public", "dp", "private"]) expect(Schema.decodeUnknownSync(PrivacyLabel)(l)).toBe(l)
    expect(() => Schema.decodeUnknownSync(PrivacyLabel)("secret")).toThrow()
    expect(() => Schema.decodeUnknownSync(PrivacyLabel)("")).toThrow()
  })

  it("join to the more restrictive label; no inputs is public", () => {
    expect(propagate([])).toBe("public")
    expect(propagate(["public", "public"])).toBe("public")
    expect(propagate(["public", "dp"])).toBe("dp")
    expect(propagate(["dp", "private", "public"])).toBe("private")
    expect(joinLabels("private", "dp")).toBe("private")
    expect(joinLabels("dp", "dp")).toBe("dp")
  })

  it("private data never satisfies a public requirement", () => {
    expect(satisfies("public", "public")).toBe(true)
    expect(satisfies("dp", "public")).toBe(false)
    expect(satisfies("private", "public")).toBe(false)
    expect(satisfies("private", "dp")).toBe(false)
    expect(satisfies("dp", "private")).toBe(true)
  })

  it("provenance is the sorted union of the inputs' datasets (a canonical order for the ledger)", () => {
    expect(unionProvenance([["pack", "corpus"], ["corpus"], []])).toEqual(["corpus", "pack"])
    expect(unionProvenance([])).toEqual([])
  })
})
