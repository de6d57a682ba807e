/** sha256 of a file's bytes, streamed. */
import { createHash } from "node:crypto"
import { createReadStream } from "node:fs"

export const hashFile = (path: string): Promise<string> =>
  new Promise((resolve, reject) => {
    const h = createHash("sha256")
    createReadStream(path)
      .on("data", (chunk) => h.update(chunk))
      .on("error", reject)
      .on("end", () => resolve(h.digest("hex")))
  })

export const hashBytes = (data: Uint8Array | string): string => createHash("sha256").update(data).digest("hex")
