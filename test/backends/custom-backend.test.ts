import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setImmediate as yieldToLoop } from "node:timers/promises";
import { type Lock, type LockOptions, ThrottleBackend } from "../../src/backend.js";
import { HTTPThrottle, Rate, tryHitAll } from "../../src/index.js";
import { allStrategies } from "../strategies/harness.js";

/**
 * A backend written the way the README shows: primitives only, over a Map, each operation
 * yielding to the event loop so that unprotected read-modify-writes would interleave.
 */
class MapBackend extends ThrottleBackend {
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

  async increment(key: string, amount = 1): Promise<number> {
    const next = Number((await this.get(key)) ?? 0) + amount;
    this.data.set(this.key(key), { value: String(next), expiresAt: Infinity });
    return next;
  }

  async decrement(key: string, amount = 1): Promise<number> {
    return this.increment(key, -amount);
  }

  async incrementWithTtl(key: string, amount: number, ttlMs: number): Promise<number> {
    const existed = (await this.get(key)) !== null;
    const next = await this.increment(key, amount);
    if (!existed)
      this.data.set(this.key(key), { value: String(next), expiresAt: Date.now() + ttlMs });
    return next;
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

describe("a custom backend built from the primitives alone", () => {
  // An hour-long window: nothing refills while the test runs, so capacity is exact.
  const rate = Rate.parse("6/h");
  for (const strategy of allStrategies()) {
    it(`${strategy.name}: 60 concurrent requests admit exactly the capacity`, async () => {
      const backend = new MapBackend({ namespace: "custom" });
      const request = { uid: "api", identity: "client", strategy, rate, cost: 1 };
      const steps = await Promise.all(
        Array.from({ length: 60 }, () => backend.decide(request, "consume")),
      );
      assert.equal(steps.filter((s) => s.allowed).length, strategy.capacity(rate));
    });
  }

  it("serves throttles, all-or-nothing groups and client resets", async () => {
    const backend = new MapBackend({ namespace: "custom" });
    const perSecond = new HTTPThrottle<string>({
      uid: "s",
      rate: "5/h",
      backend,
      identifier: (c) => c,
    });
    const perHour = new HTTPThrottle<string>({
      uid: "h",
      rate: "3/h",
      backend,
      identifier: (c) => c,
    });
    const groups = await Promise.all(
      Array.from({ length: 10 }, () => tryHitAll([perSecond, perHour], "x")),
    );
    assert.equal(groups.filter((g) => g.every((d) => d.allowed)).length, 3);
    // 5 - 3 admitted - 1 for the peeked request itself: the rejected groups consumed nothing.
    assert.equal((await perSecond.peek("x")).remaining, 1);
    await perHour.reset("x");
    assert.equal((await perHour.tryHit("x")).allowed, true);
  });
});
