import { setImmediate as yieldToLoop } from "node:timers/promises";
import { type Lock, type LockOptions, ThrottleBackend } from "../../src/backend.js";

/**
 * A backend written the way the README shows: primitives only, over a Map, each operation
 * yielding to the event loop so that unprotected read-modify-writes would interleave.
 */
export class MapBackend extends ThrottleBackend {
  private readonly data = new Map<string, { value: string; expiresAt: number }>();
  private readonly held = new Map<string, Promise<void>>();

  private key(key: string): string {
    return `${this.namespace}:${key}`;
  }

  async get(key: string): Promise<string | null> {
    await yieldToLoop();
    const entry = this.data.get(this.key(key));
    return entry && entry.expiresAt > Date.now() ? entry.value : null;
  }

  async set(key: string, value: string, ttlMs?: number): Promise<void> {
    await yieldToLoop();
    this.data.set(this.key(key), {
      value,
      expiresAt: ttlMs === undefined ? Infinity : Date.now() + ttlMs,
    });
  }

  async delete(key: string): Promise<void> {
    this.data.delete(this.key(key));
  }

  async lock(name: string, _options?: LockOptions): Promise<Lock> {
    for (;;) {
      const current = this.held.get(name);
      if (current === undefined) break;
      await current;
    }
    let release!: () => void;
    this.held.set(name, new Promise<void>((resolve) => (release = resolve)));
    return {
      release: async () => {
        this.held.delete(name);
        release();
        return true;
      },
    };
  }

  async reset(): Promise<void> {
    this.data.clear();
  }
}
