/**
 * The store secret: 32 random bytes in <store>/secret.key, created with mode 0600 and
 * never printed, logged or exported. Stage randomness keys are derived from it
 * (HMAC-SHA256(secret, stage key || domain)), so DP noise and sampling are
 * reproducible and resumable, and unpredictable to anyone without the file.
 */
import { createHmac, randomBytes } from "node:crypto"
import { chmod, mkdir, open, readFile, stat } from "node:fs/promises"
import { dirname } from "node:path"

const SECRET_BYTES = 32

export const loadOrCreateSecret = async (path: string): Promise<Uint8Array> => {
  try {
    const buf = await readFile(path)
    if (buf.length !== SECRET_BYTES) throw new Error(`${path} holds ${buf.length} bytes, expected ${SECRET_BYTES}; restore it from a backup or delete it to start a new store`)
    const st = await stat(path)
    if ((st.mode & 0o077) !== 0) await chmod(path, 0o600)
    return new Uint8Array(buf)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e
  }
  await mkdir(dirname(path), { recursive: true })
  const secret = randomBytes(SECRET_BYTES)
  try {
    const fh = await open(path, "wx", 0o600)
    await fh.writeFile(secret)
    await fh.sync()
    await fh.close()
    return new Uint8Array(secret)
  } catch (e) {
    // Another process created it first: use theirs.
    if ((e as NodeJS.ErrnoException).code === "EEXIST") return new Uint8Array(await readFile(path))
    throw e
  }
}

/** The per-stage, per-domain key: HMAC-SHA256(secret, "dpipe-stage\0" key "\0" domain). */
export const deriveStageSecret = (secret: Uint8Array, stageKey: string, domain: string): Uint8Array =>
  new Uint8Array(createHmac("sha256", secret).update("dpipe-stage\u0000").update(stageKey).update("\u0000").update(domain).digest())
