import { describe, expect, it } from "vitest"
import { createCipheriv, createHmac } from "node:crypto"
import { generateKey, keyedStream } from "@dpipe/random/keyed-random"

const key = new Uint8Array(32).map((_, i) => i)

describe("keyed-random", () => {
  it("is a pure function of (key, domain, counter)", () => {
    const a = keyedStream(key, "noise", 7).bytes(new Uint8Array(10000))
    const b = keyedStream(key, "noise", 7).bytes(new Uint8Array(10000))
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true)
    const c = keyedStream(key, "noise", 8).bytes(new Uint8Array(64))
    const d = keyedStream(key, "sampler", 7).bytes(new Uint8Array(64))
    const e = keyedStream(generateKey(), "noise", 7).bytes(new Uint8Array(64))
    for (const other of [c, d, e]) expect(Buffer.from(a.subarray(0, 64)).equals(Buffer.from(other))).toBe(false)
  })

  it("matches an independent HMAC + ChaCha20 derivation", () => {
    const ctr = Buffer.alloc(8)
    ctr.writeBigUInt64BE(3n)
    const sub = createHmac("sha256", key).update("dpipe/v1\u0000noise\u0000").update(ctr).digest()
    const expected = createCipheriv("chacha20", sub, Buffer.alloc(16)).update(Buffer.alloc(5000))
    const got = keyedStream(key, "noise", 3).bytes(new Uint8Array(5000))
    expect(Buffer.from(got).equals(expected)).toBe(true)
  })

  it("gives uniforms in [0,1) and standard normals with the right moments", () => {
    const s = keyedStream(key, "moments", 0)
    const n = 200_000
    let sum = 0, sumSq = 0, min = 1, max = 0
    for (let i = 0; i < n; i++) {
      const u = s.uniform()
      sum += u; min = Math.min(min, u); max = Math.max(max, u)
    }
    expect(min).toBeGreaterThanOrEqual(0)
    expect(max).toBeLessThan(1)
    // mean of U(0,1): 0.5, standard error sqrt(1/12/n) ~ 6.5e-4; 4 standard errors
    expect(Math.abs(sum / n - 0.5)).toBeLessThan(4 * Math.sqrt(1 / 12 / n))
    sum = 0
    const g = keyedStream(key, "gauss", 0)
    for (let i = 0; i < n; i++) { const x = g.gaussian(); sum += x; sumSq += x * x }
    const mean = sum / n
    const sd = Math.sqrt(sumSq / n - mean * mean)
    expect(Math.abs(mean)).toBeLessThan(4 / Math.sqrt(n))
    // sd of the sample sd ~ 1/sqrt(2n) ~ 1.6e-3; 4 standard errors
    expect(Math.abs(sd - 1)).toBeLessThan(4 / Math.sqrt(2 * n))
  })

  it("rejects a key of the wrong length", () => {
    expect(() => keyedStream(new Uint8Array(16), "x", 0)).toThrow(/32 bytes/)
  })
})
