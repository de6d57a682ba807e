/**
 * The project speaks for itself: no tracked source, test, bench, pipeline, doc or README
 * file refers to a numbered issue of a tracker, or to design notes kept outside the
 * repository. A reason is stated where it applies, or cited from the project's own docs
 * (the privacy rules from docs/privacy.md, by section id).
 *
 * The patterns are written so that this file does not match them itself (it is scanned
 * like every other file), and the planted examples below are assembled from pieces for
 * the same reason. The second test shows the patterns catch what they are meant to catch,
 * so the first can fail, and leave alone the look-alikes the code legitimately contains.
 */
import { describe, expect, it } from "vitest"
import { execFileSync } from "node:child_process"
import { readdirSync, readFileSync, statSync } from "node:fs"
import { join, relative, resolve } from "node:path"

const root = resolve(import.meta.dirname, "../..")

/** What a file must not contain, by name. */
const patterns: ReadonlyArray<readonly [string, RegExp]> = [
  // the word issue(s) followed by a number, "#" and a number, or "/" and a number
  ["numbered issue", /\bissues?(\s*#\s*|\s+|\/)\d/i],
  // "#" and a number after a space or bracket; not a CSS colour after ": ", a parameter
  // name such as qkv#0, or an HTML character reference
  ["#number reference", /(?<=^|[\s(\[])(?<!:\s)#\d+(?![\w-])/m],
  // the outside design notes, by name or by their folder
  ["outside notes", /DP-NOTE[S]|SCALING-NOTE[S]|EFFECT4-NOTE[S]|\bDESIGN\.m[d]\b|\bSTYLE\.m[d]\b/],
  ["outside folder", /shared\/doc[s]|\.\.\/share[d]\b/],
  // the outside notes' numbering of the privacy rules
  ["numbered guard", /\bguards?\s+\d/i]
]

/** The names of the patterns a text matches, with the first match of each. */
export const findings = (text: string): Array<string> =>
  patterns.flatMap(([name, re]) => {
    const m = re.exec(text)
    return m === null ? [] : [`${name}: "${m[0].trim()}"`]
  })

/** Generated or third-party files that are tracked but not the project's words. */
const skipped = new Set(["pnpm-lock.yaml"])

/** Tracked files (git), or every file outside node_modules and .git when there is no git. */
const trackedFiles = (): Array<string> => {
  try {
    return execFileSync("git", ["ls-files", "-z"], { cwd: root, encoding: "utf8" }).split("\0").filter((f) => f !== "")
  } catch {
    const walk = (dir: string): Array<string> =>
      readdirSync(dir).flatMap((name) => {
        const p = join(dir, name)
        if (name === "node_modules" || name === ".git") return []
        return statSync(p).isDirectory() ? walk(p) : [relative(root, p)]
      })
    return walk(root)
  }
}

describe("the project speaks for itself", () => {
  it("no tracked file mentions a numbered issue or the outside design notes", () => {
    // Images (the README's screenshots) are bytes, not words.
    const files = trackedFiles().filter((f) => !skipped.has(f) && !/\.(png|jpe?g|gif|webp)$/i.test(f))
    // The scan covers what it claims to: sources, tests, pipelines, benches, docs, README.
    for (const expected of ["README.md", "docs/privacy.md", "docs/architecture.md", "packages/dsl/src/plan.ts", "pipelines/vaultgemma-1b.ts", "bench/train.ts", "test/architecture/self-contained.test.ts"]) {
      expect(files).toContain(expected)
    }
    const problems = files.flatMap((f) => {
      let text: string
      try {
        text = readFileSync(join(root, f), "utf8")
      } catch {
        return [] // listed by git but deleted in the working tree
      }
      return findings(text).map((x) => `${f}: ${x}`)
    })
    expect(problems).toEqual([])
  })

  it("catches planted references, and not the look-alikes the code contains", () => {
    const planted = [
      "// see issue" + " 3",
      "The data stages of issue" + " 4, as dpipe stages",
      "(issue" + " 6, item 5)",
      "Reference (Issue #" + "5)",
      "fixed in #" + "12",
      "(#" + "7)",
      "https://github.com/o/r/issues" + "/8",
      "(DP-" + "NOTES guard" + " 9: a tokenizer must not see private data)",
      "DESIGN" + ".md \"CLI contract\"",
      "../sha" + "red/docs/STYLE" + ".md",
      "as noted in SCALING-" + "NOTES",
      "once per step (guard" + " 2)"
    ]
    for (const text of planted) expect(findings(text), text).not.toEqual([])
    const lookAlikes = [
      ".note { color: #555; }",
      "const axisColor = \"#888\"",
      "get(w, `layers.${l}.qkv#0`)",
      "&#39;none&#39;",
      "return { path: [\"batchCap\"], issue: \"the cap is below q*N\" }",
      "formatter(err.issue).issues[0]",
      "(docs/privacy.md, P9)",
      "## 1. Heading"
    ]
    for (const text of lookAlikes) expect(findings(text), text).toEqual([])
  })
})
