/**
 * Keyed, counter-based cryptographically secure randomness (docs/privacy.md, P7).
 *
 * Every random draw in a DP mechanism (Poisson sampling, Gaussian noise) must come
 * from a CSPRNG, and a resumable run needs the draw for step t to be a pure function
 * of (run secret, purpose, t), independent of call order. This module derives one
 * ChaCha20 stream per (key, domain, counter):
 *
 *   subkey = HMAC-SHA256(key, "dpipe/v1" || domain || counter)      (RFC 2104)
 *   stream = ChaCha20(subkey, nonce = 0) keystream                  (RFC 8439, node:crypto)
 *
 * Uniforms take 53 random bits per double. Gaussians use the Box-Muller transform in
 * float64 (Box & Muller 1958). Floating-point Gaussian samplers leak through their
 * low-order bits in theory (Mironov 2012, "On significance of the least significant
 * bits for differential privacy"); like Opacus' and jax_privacy's default, we accept
 * that and cast to float32 only after adding noise to the summed gradient.
 *
 * node:crypto is used rather than a JS ChaCha implementation: it is OpenSSL's
 * audited code and runs at memory speed.
 */
import { createCipheriv, createHmac, randomBytes } from "node:crypto"

/** Bytes in a run secret. */
export const KEY_BYTES = 32

/** Makes a fresh run secret (to be stored with mode 0600, never logged). */
export const generateKey = (): Uint8Array => new Uint8Array(randomBytes(KEY_BYTES))

const ZERO_NONCE = Buffer.alloc(16)
const BLOCK = 4096

/** A deterministic stream of random values for one (key, domain, counter). */
export class KeyedStream {
  private readonly cipher: ReturnType<typeof createCipheriv>
  private buf: Buffer = Buffer.alloc(0)
  private view: DataView = new DataView(new ArrayBuffer(0))
  private pos = 0
  private spareGaussian: number | undefined = undefined

  constructor(key: Uint8Array, domain: string, counter: bigint | number) {
    if (key.length !== KEY_BYTES) {
      throw new RangeError(`KeyedStream: key must be ${KEY_BYTES} bytes, got ${key.length}`)
    }
    const c = BigInt(counter)
    if (c < 0n) throw new RangeError("KeyedStream: counter must be non-negative")
    const ctr = Buffer.alloc(8)
    ctr.writeBigUInt64BE(c)
    const subkey = createHmac("sha256", key)
      .update("dpipe/v1\u0000")
      .update(domain)
      .update("\u0000")
      .update(ctr)
      .digest()
    this.cipher = createCipheriv("chacha20", subkey, ZERO_NONCE)
  }

  private refill(): void {
    this.buf = this.cipher.update(Buffer.alloc(BLOCK))
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength)
    this.pos = 0
  }

  /** Fills `out` with random bytes. */
  bytes(out: Uint8Array): Uint8Array {
    let i = 0
    while (i < out.length) {
      if (this.pos >= this.buf.length) this.refill()
      const n = Math.min(out.length - i, this.buf.length - this.pos)
      out.set(this.buf.subarray(this.pos, this.pos + n), i)
      this.pos += n
      i += n
    }
    return out
  }

  /** A uniform 32-bit unsigned integer. */
  uint32(): number {
    if (this.pos + 4 > this.buf.length) this.refill()
    const v = this.view.getUint32(this.pos, true)
    this.pos += 4
    return v
  }

  /** A uniform double in [0, 1) with 53 random bits. */
  uniform(): number {
    const hi = this.uint32() >>> 5 // 27 bits
    const lo = this.uint32() >>> 6 // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992
  }

  /** A uniform double in (0, 1]: safe for log(). */
  uniformPositive(): number {
    return 1 - this.uniform()
  }

  /** A standard normal draw (Box-Muller, float64). */
  gaussian(): number {
    if (this.spareGaussian !== undefined) {
      const g = this.spareGaussian
      this.spareGaussian = undefined
      return g
    }
    const u1 = this.uniformPositive()
    const u2 = this.uniform()
    const r = Math.sqrt(-2 * Math.log(u1))
    const theta = 2 * Math.PI * u2
    this.spareGaussian = r * Math.sin(theta)
    return r * Math.cos(theta)
  }

  /** Fills `out` with N(0, std^2) draws computed in float64. */
  fillGaussian(out: Float64Array | Float32Array, std = 1): typeof out {
    for (let i = 0; i < out.length; i++) out[i] = std * this.gaussian()
    return out
  }
}

/** A stream for one purpose ("sampler", "noise", ...) at one step. */
export const keyedStream = (key: Uint8Array, domain: string, counter: bigint | number): KeyedStream =>
  new KeyedStream(key, domain, counter)
