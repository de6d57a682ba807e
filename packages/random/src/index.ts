/**
 * @dpipe/random: keyed, counter-based cryptographically secure randomness (ChaCha20
 * streams keyed by HMAC-SHA256 of a secret), the one source of DP noise, batch sampling
 * and canaries in dpipe. See keyed-random.ts.
 */
export * from "@dpipe/random/keyed-random"
