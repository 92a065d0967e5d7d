interface Block {
  /** When (on this process's monotonic clock) the blocked cost fits again. */
  readonly until: number;
  /** The cost that was rejected: only requests of that cost are answered here, exactly. */
  readonly cost: number;
}

/**
 * Remembers clients that were rejected, so that until their wait is over a request of the same
 * cost is rejected in-process, without a round trip. Nothing but a reset can make a client's
 * wait shorter, so the answer (and its wait) is the one the server would give. Bounded: at
 * `maxEntries` the oldest entries are dropped (their requests just go to the server).
 */
export class BlockCache {
  private readonly blocks = new Map<string, Block>();
  /**
   * Walks the keys oldest first, once: every key behind it was evicted, and a key blocked
   * again moves to the end, so its next key is always the oldest. A fresh iterator per
   * eviction would instead pass every deleted entry ahead of the first live one, each time.
   */
  private evictionCursor: Iterator<string> | undefined;

  constructor(private readonly maxEntries = 100_000) {}

  /** Whether no client is blocked: then there is nothing to look up. */
  isEmpty(): boolean {
    return this.blocks.size === 0;
  }

  /** Ms left to wait for `cost` at `key`, or `undefined` if the server must decide. */
  waitFor(key: string, cost: number, now: number): number | undefined {
    const block = this.blocks.get(key);
    if (block === undefined) return undefined;
    if (block.until <= now) {
      this.blocks.delete(key);
      return undefined;
    }
    return cost === block.cost ? block.until - now : undefined;
  }

  block(key: string, cost: number, waitMs: number, now: number): void {
    if (!(waitMs > 0) || !Number.isFinite(waitMs)) return;
    if (this.blocks.size >= this.maxEntries && !this.blocks.has(key)) this.evictOldest();
    this.blocks.delete(key);
    this.blocks.set(key, { until: now + waitMs, cost });
  }

  forget(key: string): void {
    this.blocks.delete(key);
  }

  clear(): void {
    this.blocks.clear();
    this.evictionCursor = undefined;
  }

  private evictOldest(): void {
    this.evictionCursor ??= this.blocks.keys();
    let oldest = this.evictionCursor.next();
    if (oldest.done) {
      // Finished iterators stay finished: start again from what is left.
      this.evictionCursor = this.blocks.keys();
      oldest = this.evictionCursor.next();
    }
    if (!oldest.done) this.blocks.delete(oldest.value);
  }
}
