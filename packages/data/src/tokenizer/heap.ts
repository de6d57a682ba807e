/**
 * A binary max-heap of (count, key) pairs for the BPE trainer: highest count first,
 * ties broken by the smaller key (so training is deterministic). Entries may be stale;
 * the trainer re-checks counts when popping ("lazy deletion", as in HF tokenizers'
 * BpeTrainer).
 */
export class PairHeap {
  private counts: Array<number> = []
  private keys: Array<number> = []

  get size(): number {
    return this.counts.length
  }

  private before(i: number, j: number): boolean {
    const ci = this.counts[i] as number, cj = this.counts[j] as number
    return ci > cj || (ci === cj && (this.keys[i] as number) < (this.keys[j] as number))
  }

  private swap(i: number, j: number): void {
    const c = this.counts[i] as number, k = this.keys[i] as number
    this.counts[i] = this.counts[j] as number
    this.keys[i] = this.keys[j] as number
    this.counts[j] = c
    this.keys[j] = k
  }

  push(count: number, key: number): void {
    this.counts.push(count)
    this.keys.push(key)
    let i = this.counts.length - 1
    while (i > 0) {
      const p = (i - 1) >> 1
      if (!this.before(i, p)) break
      this.swap(i, p)
      i = p
    }
  }

  /** Removes the top entry and returns [count, key], or undefined when empty. */
  pop(): readonly [number, number] | undefined {
    const n = this.counts.length
    if (n === 0) return undefined
    const top = [this.counts[0] as number, this.keys[0] as number] as const
    const lastC = this.counts.pop() as number
    const lastK = this.keys.pop() as number
    if (n > 1) {
      this.counts[0] = lastC
      this.keys[0] = lastK
      let i = 0
      for (;;) {
        const l = 2 * i + 1, r = l + 1
        let m = i
        if (l < n - 1 && this.before(l, m)) m = l
        if (r < n - 1 && this.before(r, m)) m = r
        if (m === i) break
        this.swap(i, m)
        i = m
      }
    }
    return top
  }
}
