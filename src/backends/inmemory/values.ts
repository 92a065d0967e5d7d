interface StoredValue {
  value: string;
  expiresAt: number;
}

/** The in-memory backend's key-value primitives (`get`, `set`, `delete`), with TTLs. */
export class ValueStore {
  private readonly values = new Map<string, StoredValue>();

  /** `clock` is the deciding clock; `onWrite` is told of each new value (to start a sweeper). */
  constructor(
    private readonly clock: () => number,
    private readonly onWrite: () => void,
  ) {}

  get(key: string): string | null {
    return this.live(key)?.value ?? null;
  }

  set(key: string, value: string, ttlMs?: number): void {
    this.values.set(key, { value, expiresAt: this.expiry(ttlMs) });
    this.onWrite();
  }

  delete(key: string): void {
    this.values.delete(key);
  }

  /** Removes every value expired by now. */
  sweep(): void {
    const now = this.clock();
    for (const [key, stored] of this.values) {
      if (stored.expiresAt <= now) this.values.delete(key);
    }
  }

  clear(): void {
    this.values.clear();
  }

  private expiry(ttlMs: number | undefined): number {
    return ttlMs === undefined ? Number.POSITIVE_INFINITY : this.clock() + ttlMs;
  }

  private live(key: string): StoredValue | undefined {
    const stored = this.values.get(key);
    if (stored === undefined) return undefined;
    if (stored.expiresAt <= this.clock()) {
      this.values.delete(key);
      return undefined;
    }
    return stored;
  }
}
