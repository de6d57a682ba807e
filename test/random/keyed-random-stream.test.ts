/**
 * The keyed stream's values, read off an independent HMAC-SHA256 + ChaCha20 derivation
 * (Node's crypto called directly): reads of any size continue the same byte stream across
 * block boundaries, uint32 is little-endian, uniform takes 27 + 26 bits of two words, and
 * gaussian is Box-Muller (cos first, then the spare sin). So noise and batches are the
 * documented functions of (secret, domain, step) (docs/privacy.md, P7).
 */
import { describe, expect, it } from "vitest"
import { createCipheriv, createHmac } from "node:crypto"
import { keyedStream } from "@dpipe/random/keyed-random"

const key = new Uint8Array(32).map((_, i) => (i * 7 + 1) & 255)

const reference = (domain: string, counter: number, bytes: number): Buffer => {
  const ctr = Buffer.alloc(8)
  ctr.writeBigUInt64BE(BigInt(counter))
  const sub = createHmac("sha256", key).update(`dpipe/v1\u0000${domain}\u0000`).update(ctr).digest()
  return createCipheriv("chacha20", sub, Buffer.alloc(16)).update(Buffer.alloc(bytes))
}

describe("keyed stream values", () => {
  it("reads of any size continue one byte stream across block boundaries", () => {
    const ref = reference("bytes", 5, 20_000)
    const s = keyedStream(key, "bytes", 5)
    const parts: Array<Buffer> = []
    for (const size of [10, 10, 4000, 90, 1, 5000, 4096, 6793]) parts.push(Buffer.from(s.bytes(new Uint8Array(size))))
    expect(Buffer.concat(parts).equals(ref)).toBe(true)
    // a word read first, then bytes: the bytes start 4 into the stream
    const t = keyedStream(key, "bytes", 5)
    t.uint32()
    expect(Buffer.from(t.bytes(new Uint8Array(6000))).equals(ref.subarray(4, 6004))).toBe(true)
  })

  it("uint32 words are the stream's little-endian words, across block boundaries", () => {
    const ref = reference("words", 0, 3000 * 4)
    const s = keyedStream(key, "words", 0)
    for (let i = 0; i < 3000; i++) expect(s.uint32()).toBe(ref.readUInt32LE(4 * i))
  })

  it("uniform is ((w1 >>> 5) 2^26 + (w2 >>> 6)) / 2^53, and uniformPositive is 1 minus it", () => {
    const ref = reference("u", 1, 2000 * 8)
    const s = keyedStream(key, "u", 1)
    for (let i = 0; i < 1000; i++) {
      const w1 = ref.readUInt32LE(8 * i), w2 = ref.readUInt32LE(8 * i + 4)
      expect(s.uniform()).toBe(((w1 >>> 5) * 2 ** 26 + (w2 >>> 6)) / 2 ** 53)
    }
    for (let i = 1000; i < 2000; i++) {
      const w1 = ref.readUInt32LE(8 * i), w2 = ref.readUInt32LE(8 * i + 4)
      expect(s.uniformPositive()).toBe(1 - ((w1 >>> 5) * 2 ** 26 + (w2 >>> 6)) / 2 ** 53)
    }
  })

  it("gaussian is Box-Muller on (uniformPositive, uniform): r cos(theta), then the spare r sin(theta)", () => {
    const ref = reference("g", 2, 500 * 16)
    const u = (i: number) => ((ref.readUInt32LE(8 * i) >>> 5) * 2 ** 26 + (ref.readUInt32LE(8 * i + 4) >>> 6)) / 2 ** 53
    const s = keyedStream(key, "g", 2)
    const out = s.fillGaussian(new Float64Array(1000), 2.5)
    for (let p = 0; p < 500; p++) {
      const r = Math.sqrt(-2 * Math.log(1 - u(2 * p)))
      const theta = 2 * Math.PI * u(2 * p + 1)
      expect(out[2 * p]).toBe(2.5 * (r * Math.cos(theta)))
      expect(out[2 * p + 1]).toBe(2.5 * (r * Math.sin(theta)))
    }
  })

  it("refuses a negative counter", () => {
    expect(() => keyedStream(key, "x", -1)).toThrow(/non-negative/)
    expect(() => keyedStream(key, "x", -1n)).toThrow(/non-negative/)
  })
})
