import { BackendError } from "../../errors.js";

interface StoredValue {
  value: string;
  expiresAt: number;
}

/** The in-memory backend's key-value primitives (for custom strategies and locks), with TTLs. */
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

  /** Adds `amount` to the integer at `key` (0 if none); a new key gets `ttlMs`, if given. */
  add(key: string, amount: number, ttlMs: number | undefined): number {
    const stored = this.live(key);
    const current = stored === undefined ? 0 : Number.parseInt(stored.value, 10);
    if (!Number.isSafeInteger(current)) {
      throw new BackendError(`InMemoryBackend: the value at "${key}" is not an integer.`, {
        code: "ERR_TRAFFIK_NOT_AN_INTEGER",
      });
    }
    const next = current + amount;
    if (stored === undefined) this.set(key, String(next), ttlMs);
    else stored.value = String(next);
    return next;
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
