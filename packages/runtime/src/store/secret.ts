/**
 * The store secret: 32 random bytes in <store>/secret.key, mode 0600, never printed,
 * logged or exported. Stage randomness keys are derived from it
 * (HMAC-SHA256(secret, stage key || domain)), so DP noise and sampling are
 * reproducible and resumable, and unpredictable to anyone without the file
 * (docs/privacy.md, P7).
 *
 * Creation is atomic (docs/privacy.md, P10): the bytes are written to a temporary file,
 * fsynced, and linked into place with link(2), which fails if the name exists. So
 * `secret.key` is never visible half-written, and when several processes create a store
 * at once exactly one secret wins and every process uses it. A reader checks the length
 * and retries briefly (a store written by an older dpipe could be caught mid-write); a
 * file that stays empty or short is an error, never a key: HMAC with an empty key would
 * make every noise draw and batch computable from the stage keys in run.json.
 */
import { createHmac, randomBytes } from "node:crypto"
import { chmod, link, mkdir, open, readFile, rm, stat } from "node:fs/promises"
import { dirname } from "node:path"
import { fsyncDir, tempPathFor } from "./atomic.ts"

export const SECRET_BYTES = 32

const RETRIES = 20
const RETRY_MS = 25

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

/** Reads an existing secret; undefined when there is none. Throws when it is not 32 bytes. */
const readSecret = async (path: string): Promise<Uint8Array | undefined> => {
  for (let attempt = 0; ; attempt++) {
    let buf: Buffer
    try {
      buf = await readFile(path)
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined
      throw e
    }
    if (buf.length === SECRET_BYTES) {
      const st = await stat(path)
      if ((st.mode & 0o077) !== 0) await chmod(path, 0o600)
      return new Uint8Array(buf)
    }
    if (attempt >= RETRIES) {
      throw new Error(
        `${path} holds ${buf.length} bytes, expected ${SECRET_BYTES}: the store secret is damaged and must not be used as a key. ` +
          `Restore it from a backup; or, if nothing in this store needs to be reproduced, delete ${path} (a new secret is created, and every stage recomputes with new noise).`
      )
    }
    await sleep(RETRY_MS)
  }
}

export const loadOrCreateSecret = async (path: string): Promise<Uint8Array> => {
  const existing = await readSecret(path)
  if (existing !== undefined) return existing
  await mkdir(dirname(path), { recursive: true, mode: 0o700 })
  const secret = randomBytes(SECRET_BYTES)
  const tmp = tempPathFor(path)
  try {
    const fh = await open(tmp, "wx", 0o600)
    try {
      await fh.writeFile(secret)
      await fh.sync()
    } finally {
      await fh.close()
    }
    try {
      await link(tmp, path)
      await fsyncDir(dirname(path))
      return new Uint8Array(secret)
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e
    }
  } finally {
    await rm(tmp, { force: true })
  }
  // Another process linked its secret first: use theirs (it is complete, being linked whole).
  const theirs = await readSecret(path)
  if (theirs === undefined) throw new Error(`${path} disappeared while the store was being created; run again`)
  return theirs
}

/** The per-stage, per-domain key: HMAC-SHA256(secret, "dpipe-stage\0" key "\0" domain). */
export const deriveStageSecret = (secret: Uint8Array, stageKey: string, domain: string): Uint8Array => {
  if (secret.length !== SECRET_BYTES) throw new Error(`the store secret has ${secret.length} bytes, expected ${SECRET_BYTES}: refusing to derive keys from it`)
  return new Uint8Array(createHmac("sha256", secret).update("dpipe-stage\u0000").update(stageKey).update("\u0000").update(domain).digest())
}
