import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { InMemoryBackend } from "../../src/backends/inmemory/index.js";
import { BackendError } from "../../src/errors.js";
import { Rate } from "../../src/index.js";
import {
  FixedWindowStrategy,
  GCRAStrategy,
  LeakyBucketStrategy,
  LeakyBucketWithQueueStrategy,
  SlidingWindowCounterStrategy,
  SlidingWindowLogStrategy,
  TokenBucketStrategy,
  TokenBucketWithDebtStrategy,
} from "../../src/strategies/index.js";
import type { Step, StrategyState } from "../../src/strategies/strategy.js";

function clock(start = 0) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

const rate = Rate.parse("2/s");
const fixed = new FixedWindowStrategy();
const request = (identity: string, uid = "u") => ({
  uid,
  identity,
  strategy: fixed,
  rate,
  cost: 1,
});

describe("InMemoryBackend", () => {
  it("decides synchronously and stores only admitted requests", () => {
    const backend = new InMemoryBackend({ namespace: "t", clock: clock().now });
    assert.equal(backend.decide(request("a"), "consume").allowed, true);
    assert.equal(backend.decide(request("a"), "peek").remaining, 0);
    assert.equal(backend.decide(request("a"), "consume").allowed, true);
    assert.equal(backend.decide(request("a"), "consume").allowed, false);
    assert.equal(backend.decide(request("b"), "consume").allowed, true);
    assert.equal(backend.size, 2);
  });

  it("decides a subclass, or an instance, with an apply of its own by that apply, not the base's applyInPlace", () => {
    // Rejects everything: a backend that took the base class's in-place path would admit.
    const closed = (_state: StrategyState | undefined, now: number): Step => ({
      state: [now + 1000, 0],
      allowed: false,
      remaining: 0,
      retryAfterMs: 1000,
      resetAfterMs: 1000,
      delayMs: 0,
    });
    class ClosedFixedWindow extends FixedWindowStrategy {
      override apply(state: StrategyState | undefined, now: number): Step {
        return closed(state, now);
      }
    }
    const instances = [
      new TokenBucketStrategy(),
      new TokenBucketWithDebtStrategy(),
      new LeakyBucketStrategy(),
      new LeakyBucketWithQueueStrategy(),
      new GCRAStrategy(),
      new SlidingWindowLogStrategy(),
      new SlidingWindowCounterStrategy(),
    ];
    for (const instance of instances) instance.apply = closed;
    for (const strategy of [new ClosedFixedWindow(), ...instances]) {
      const backend = new InMemoryBackend({ namespace: "t", clock: clock(5000).now });
      const asked = { uid: "u", identity: "a", strategy, rate, cost: 1 };
      assert.equal(backend.decide(asked, "consume").allowed, false, strategy.name);
    }
  });

  it("peek stores nothing", () => {
    const backend = new InMemoryBackend({ namespace: "t", clock: clock().now });
    for (let i = 0; i < 5; i++) assert.equal(backend.decide(request("a"), "peek").allowed, true);
    assert.equal(backend.size, 0);
  });

  it("decides a group all or nothing", () => {
    const backend = new InMemoryBackend({ namespace: "t", clock: clock().now });
    const loose = { ...request("a", "loose"), rate: Rate.parse("10/s") };
    const tight = { ...request("a", "tight"), rate: Rate.parse("1/s") };
    assert.deepEqual(
      backend.decideAll([loose, tight], "consume").map((s) => s.allowed),
      [true, true],
    );
    assert.deepEqual(
      backend.decideAll([loose, tight], "consume").map((s) => s.allowed),
      [true, false],
    );
    // The rejected group left "loose" as it was: 9 remain, not 8.
    assert.equal(backend.decide(loose, "peek").remaining, 8);
  });

  it("sees earlier members of a group when a throttle repeats in it", () => {
    const backend = new InMemoryBackend({ namespace: "t", clock: clock().now });
    const steps = backend.decideAll([request("a"), request("a"), request("a")], "consume");
    assert.deepEqual(
      steps.map((s) => s.allowed),
      [true, true, false],
    );
    assert.equal(backend.size, 0);
  });

  it("sweeps expired states in bounded batches", () => {
    const time = clock();
    const backend = new InMemoryBackend({ namespace: "t", clock: time.now, sweepBudget: 3 });
    for (let i = 0; i < 5; i++) backend.decide(request(`c${i}`), "consume");
    time.advance(1000);
    assert.equal(backend.sweep(), 3);
    assert.equal(backend.size, 2);
    backend.sweep();
    assert.equal(backend.size, 0);
  });

  it("caps memory at maxKeys, evicting expired states first, then the least recently used", () => {
    const time = clock();
    const backend = new InMemoryBackend({ namespace: "t", clock: time.now, maxKeys: 3 });
    const long = { ...request("old"), rate: Rate.parse("2/h") };
    backend.decide(long, "consume");
    backend.decide(request("short1"), "consume");
    time.advance(1000);
    backend.decide(request("x"), "consume");
    backend.decide(request("y"), "consume"); // short1 expired: swept, "old" survives
    assert.equal(backend.size, 3);
    assert.equal(backend.decide(long, "peek").remaining, 0, "the live state was kept");
    backend.decide(request("z"), "consume"); // nothing expired: the least recently used ("old") goes
    assert.equal(backend.size, 3);
    assert.equal(backend.decide(long, "peek").remaining, 1);
  });

  it("close() clears the namespace unless persistent", async () => {
    const volatile = new InMemoryBackend({ namespace: "t" });
    const kept = new InMemoryBackend({ namespace: "t", persistent: true });
    for (const backend of [volatile, kept]) {
      backend.decide(request("a"), "consume");
      await backend.set("k", "v");
      await backend.close();
    }
    assert.equal(volatile.size, 0);
    assert.equal(await volatile.get("k"), null);
    assert.equal(kept.size, 1);
    assert.equal(await kept.get("k"), "v");
  });

  it("implements the primitives with TTLs on its clock", async () => {
    const time = clock();
    const backend = new InMemoryBackend({ namespace: "t", clock: time.now });
    await backend.set("a", "1", 100);
    await backend.set("w", "2", 50);
    await backend.set("n", "3");
    assert.equal(await backend.get("a"), "1");
    time.advance(60);
    assert.equal(await backend.get("w"), null, "expired after its TTL");
    assert.equal(await backend.get("a"), "1");
    time.advance(40);
    assert.equal(await backend.get("a"), null);
    assert.equal(await backend.get("n"), "3", "no TTL, no expiry");
    await backend.delete("n");
    assert.equal(await backend.get("n"), null);
  });

  it("locks: one holder at a time, released only by it, expiring on its own", async () => {
    const backend = new InMemoryBackend({ namespace: "t" });
    const first = await backend.lock("x", { ttlMs: 60_000 });
    await assert.rejects(backend.lock("x", { blocking: false }), BackendError);
    const order: string[] = [];
    const waiting = backend.lock("x", { ttlMs: 60_000 }).then((lock) => {
      order.push("second");
      return lock;
    });
    order.push("first releases");
    assert.equal(await first.release(), true);
    const second = await waiting;
    assert.deepEqual(order, ["first releases", "second"]);
    assert.equal(await first.release(), false, "a stale holder cannot release the new hold");
    await second.release();
    const crashed = await backend.lock("y", { ttlMs: 20 });
    const taken = await backend.lock("y", { ttlMs: 60_000, blockingTimeoutMs: 30_000 });
    assert.ok(taken);
    assert.equal(await crashed.release(), false);
    await assert.rejects(backend.lock("y", { blockingTimeoutMs: 10 }), /held/);
  });

  it("keeps token bucket state between calls", () => {
    const time = clock();
    const backend = new InMemoryBackend({ namespace: "t", clock: time.now });
    const bucket = { ...request("a"), strategy: new TokenBucketStrategy({ burstSize: 2 }) };
    assert.equal(backend.decide(bucket, "consume").allowed, true);
    assert.equal(backend.decide(bucket, "consume").allowed, true);
    const rejected = backend.decide(bucket, "consume");
    assert.equal(rejected.allowed, false);
    time.advance(rejected.retryAfterMs);
    assert.equal(backend.decide(bucket, "consume").allowed, true);
  });
});
