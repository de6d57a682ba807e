/**
 * The module specifiers a TypeScript or JavaScript source file loads: static imports
 * and re-exports (`... from "x"`), side-effect imports (`import "x"`), dynamic imports
 * and `require` with a literal specifier, and worker entry points
 * (`new URL("./worker.ts", import.meta.url)`). Found by pattern, not by parsing, so a
 * specifier inside a comment or a string is found too: that can only add a module to a
 * code fingerprint, never leave one out (docs/architecture.md, "Stage keys and what is
 * not keyed"). A specifier computed at run time (`import(name)`) is not followed.
 */

const patterns: ReadonlyArray<RegExp> = [
  /\bfrom\s*(["'])([^"'\n]+)\1/g,
  /\bimport\s*(["'])([^"'\n]+)\1/g,
  /\bimport\s*\(\s*(["'])([^"'\n]+)\1\s*[,)]/g,
  /\brequire(?:\.resolve)?\s*\(\s*(["'])([^"'\n]+)\1\s*\)/g,
  /\bnew\s+URL\s*\(\s*(["'])([^"'\n]+)\1\s*,\s*import\.meta\.url\s*\)/g
]

/** Every specifier the source names, each once, in order of first appearance. */
export const importSpecifiers = (source: string): Array<string> => {
  const found = new Set<string>()
  for (const pattern of patterns) {
    for (const m of source.matchAll(pattern)) if (m[2] !== undefined) found.add(m[2])
  }
  return [...found]
}
