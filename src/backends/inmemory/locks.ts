import { BackendError } from "../../errors.js";
import type { Lock, LockOptions } from "../types.js";

interface Holder {
  readonly token: number;
  readonly expiresAt: number;
}

/**
 * Named locks within one process. Each hold has a token and an expiry; only the holder's
 * release frees it, and an expired hold is taken over. Waiters are woken on release, or when
 * the hold expires; no timer outlives a wait.
 */
export class LocalLocks {
  private readonly holders = new Map<string, Holder>();
  private readonly wakers = new Map<string, Set<() => void>>();
  private nextToken = 1;

  async acquire(name: string, options: LockOptions = {}): Promise<Lock> {
    const ttlMs = options.ttlMs ?? 5000;
    const blocking = options.blocking ?? true;
    const deadline = performance.now() + (options.blockingTimeoutMs ?? ttlMs);
    for (;;) {
      const now = performance.now();
      const holder = this.holders.get(name);
      if (holder === undefined || holder.expiresAt <= now) {
        return this.take(name, now + ttlMs);
      }
      if (!blocking || now >= deadline) {
        throw new BackendError(`Lock "${name}" is held by another caller.`, {
          code: blocking ? "ERR_TRAFFIK_LOCK_TIMEOUT" : "ERR_TRAFFIK_LOCK_HELD",
        });
      }
      await this.waitForChange(name, Math.min(holder.expiresAt, deadline) - now);
    }
  }

  /** Drops every hold and wakes every waiter (they then take the lock in turn). */
  clear(): void {
    this.holders.clear();
    for (const wakers of this.wakers.values()) for (const wake of wakers) wake();
  }

  private take(name: string, expiresAt: number): Lock {
    const token = this.nextToken++;
    this.holders.set(name, { token, expiresAt });
    return {
      release: async () => {
        const holder = this.holders.get(name);
        if (holder?.token !== token) return false;
        this.holders.delete(name);
        for (const wake of this.wakers.get(name) ?? []) wake();
        return holder.expiresAt > performance.now();
      },
    };
  }

  private waitForChange(name: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      let wakers = this.wakers.get(name);
      if (wakers === undefined) {
        wakers = new Set();
        this.wakers.set(name, wakers);
      }
      const wake = (): void => {
        clearTimeout(timer);
        wakers.delete(wake);
        if (wakers.size === 0) this.wakers.delete(name);
        resolve();
      };
      const timer = setTimeout(wake, Math.max(0, ms));
      wakers.add(wake);
    });
  }
}
