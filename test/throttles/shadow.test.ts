/**
 * Shadow mode in the core: a shadow throttle counts and reports as if enforcing, never rejects
 * nor delays; in a group with enforcing throttles, only those decide (see `throttles/shadow.ts`).
 * Every backend here stands on an injected clock.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { InMemoryBackend } from "../../src/backends/inmemory/index.js";
import { BackendError, ConfigurationError, ConnectionThrottled } from "../../src/errors.js";
import {
  CHANNELS,
  type DecisionEvent,
  HTTPThrottle,
  hitAll,
  type ThrottledEvent,
  tryHitAll,
} from "../../src/index.js";
import {
  FixedWindowStrategy,
  GCRAStrategy,
  LeakyBucketWithQueueStrategy,
  SlidingWindowCounterStrategy,
  SlidingWindowLogStrategy,
  TokenBucketStrategy,
} from "../../src/strategies/index.js";
import { record } from "../events/support.js";

function timeline() {
  let now = 0;
  return { clock: () => now, advance: (ms: number) => (now += ms) };
}

const byName = (id: string) => id;

describe("shadow mode", () => {
  it("never rejects: hit resolves to the would-be rejection, marked shadow", async () => {
    const backend = new InMemoryBackend({ clock: timeline().clock });
    try {
      const throttle = new HTTPThrottle<string>({
        uid: "watch",
        rate: "2/m",
        backend,
        identifier: byName,
        mode: "shadow",
      });
      assert.equal(throttle.mode, "shadow");
      const decisions = [];
      for (let i = 0; i < 4; i++) decisions.push(await throttle.hit("alice"));
      assert.deepEqual(
        decisions.map((d) => [d.allowed, d.remaining, d.shadow]),
        [
          [true, 1, true],
          [true, 0, true],
          [false, 0, true],
          [false, 0, true],
        ],
      );
      assert.ok((decisions[2]?.retryAfterMs ?? 0) > 0);
    } finally {
      await backend.close();
    }
  });

  it("an enforcing throttle's decisions carry no shadow mark", async () => {
    const backend = new InMemoryBackend({ clock: timeline().clock });
    try {
      const throttle = new HTTPThrottle<string>({
        uid: "e",
        rate: "1/m",
        backend,
        identifier: byName,
      });
      assert.equal(throttle.mode, "enforce");
      assert.equal("shadow" in (await throttle.hit("a")), false);
      await assert.rejects(throttle.hit("a"), ConnectionThrottled);
    } finally {
      await backend.close();
    }
  });

  it("rejects an unknown mode with a ConfigurationError", () => {
    assert.throws(
      () => new HTTPThrottle({ uid: "m", rate: "1/s", mode: "log" as "shadow" }),
      (error: unknown) => error instanceof ConfigurationError && /mode must be/.test(error.message),
    );
  });

  it("admits a queueing strategy's request at once, charging its place", async () => {
    const backend = new InMemoryBackend({ clock: timeline().clock });
    try {
      const throttle = new HTTPThrottle<string>({
        uid: "queue",
        rate: "1/h",
        backend,
        identifier: byName,
        strategy: new LeakyBucketWithQueueStrategy({ queueSize: 2 }),
        mode: "shadow",
      });
      await throttle.hit("q");
      // Enforcing, this one would wait an hour for its turn: in shadow it resolves now (a wait
      // would hang this test past its timeout, as the clock never moves).
      const queued = await throttle.hit("q");
      assert.equal(queued.allowed, true);
      assert.ok(queued.delayMs > 0);
      // Capacity 3 (queue of 2, plus 1): two held, a peek sees the last place, as enforcing.
      const peeked = await throttle.peek("q");
      assert.equal(peeked.remaining, 0, "the queued request holds its place");
    } finally {
      await backend.close();
    }
  });

  it("an outage under onError 'throttle' rejects nothing", async () => {
    class Failing extends InMemoryBackend {
      override decideThen<R>(
        _request: unknown,
        _mode: unknown,
        _map: unknown,
        recover: (error: unknown) => R | Promise<R>,
      ): R | Promise<R> {
        return recover(new BackendError("connection refused"));
      }
    }
    const backend = new Failing({ clock: timeline().clock });
    try {
      const throttle = new HTTPThrottle<string>({
        uid: "out",
        rate: "1/m",
        backend,
        identifier: byName,
        mode: "shadow",
      });
      const decision = await throttle.hit("x");
      assert.deepEqual(
        [decision.allowed, decision.source, decision.shadow],
        [false, "error", true],
      );
    } finally {
      await backend.close();
    }
  });

  it("publishes decisions with enforced: false, and would-be rejections on traffik:throttled", async () => {
    const backend = new InMemoryBackend({ clock: timeline().clock, namespace: "shadow-events" });
    const decisions = record<DecisionEvent>(CHANNELS.decision);
    const rejections = record<ThrottledEvent>(CHANNELS.throttled);
    const hooked: ThrottledEvent[] = [];
    try {
      const shadow = new HTTPThrottle<string>({
        uid: "ev-shadow",
        rate: "1/m",
        backend,
        identifier: byName,
        mode: "shadow",
        onThrottled: (event) => hooked.push(event),
      });
      const enforcing = new HTTPThrottle<string>({
        uid: "ev-enforce",
        rate: "1/m",
        backend,
        identifier: byName,
      });
      await shadow.hit("a");
      await shadow.hit("a");
      await enforcing.tryHit("a");
      await enforcing.tryHit("a");
      assert.deepEqual(
        decisions.events.map((e) => [e.uid, e.allowed, e.enforced]),
        [
          ["ev-shadow", true, false],
          ["ev-shadow", false, false],
          ["ev-enforce", true, true],
          ["ev-enforce", false, true],
        ],
      );
      assert.deepEqual(
        rejections.events.map((e) => [e.uid, e.enforced]),
        [
          ["ev-shadow", false],
          ["ev-enforce", true],
        ],
      );
      assert.deepEqual(hooked, [rejections.events[0]]);
    } finally {
      decisions.stop();
      rejections.stop();
      await backend.close();
    }
  });

  describe("in a group with enforcing throttles", () => {
    const setUp = () => {
      const backend = new InMemoryBackend({ clock: timeline().clock });
      const make = (uid: string, rate: string, mode: "enforce" | "shadow") =>
        new HTTPThrottle<string>({ uid, rate, backend, identifier: byName, mode });
      return { backend, make };
    };

    it("the shadow member's would-be rejection neither rejects the group nor spares the enforcing members", async () => {
      const { backend, make } = setUp();
      try {
        const tight = make("tight", "1/h", "shadow");
        const loose = make("loose", "3/h", "enforce");
        const results = [];
        for (let i = 0; i < 4; i++) results.push(await tryHitAll([tight, loose], "c"));
        // The enforcing member counted every admitted request: a client exhausting the shadow
        // limit gets no free pass through the enforcing one.
        assert.deepEqual(
          results.map(([t, l]) => [t?.allowed, l?.allowed, l?.remaining]),
          [
            [true, true, 2],
            [false, true, 1],
            [false, true, 0],
            [false, false, 0],
          ],
        );
        await assert.rejects(hitAll([tight, loose], "c"), ConnectionThrottled);
        assert.equal((await loose.peek("c")).remaining, 0);
      } finally {
        await backend.close();
      }
    });

    it("the shadow member is charged only when the enforcing members admit", async () => {
      const { backend, make } = setUp();
      try {
        const watch = make("watch", "5/h", "shadow");
        const gate = make("gate", "1/h", "enforce");
        await tryHitAll([watch, gate], "d");
        const [watched, gated] = await tryHitAll([watch, gate], "d");
        assert.equal(gated?.allowed, false);
        // Enforcing, the group's rejection would have charged no one: the shadow member was
        // only looked at, and reports what it would have answered.
        assert.deepEqual([watched?.allowed, watched?.remaining, watched?.shadow], [true, 4, true]);
        // A peek reports what would remain after one more: 5 - 1 charged - 1.
        assert.equal((await watch.peek("d")).remaining, 3);
      } finally {
        await backend.close();
      }
    });

    it("shadow members are all or nothing among themselves", async () => {
      const { backend, make } = setUp();
      try {
        const a = make("sa", "1/h", "shadow");
        const b = make("sb", "5/h", "shadow");
        const gate = make("g", "9/h", "enforce");
        await tryHitAll([a, b, gate], "e");
        const [, second] = await tryHitAll([a, b, gate], "e");
        assert.equal(second?.allowed, true);
        // A peek reports what would remain after one more.
        assert.equal((await b.peek("e")).remaining, 3, "b not charged: a would have rejected");
        assert.equal((await gate.peek("e")).remaining, 6);
      } finally {
        await backend.close();
      }
    });
  });

  it("keeps the same state as an enforcing throttle on the same trace (property)", async () => {
    const strategies = [
      () => new FixedWindowStrategy(),
      () => new SlidingWindowCounterStrategy(),
      () => new SlidingWindowLogStrategy(),
      () => new TokenBucketStrategy({ burstSize: 4 }),
      () => new GCRAStrategy({ burst: 3 }),
    ];
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: strategies.length - 1 }),
        fc.array(
          fc.record({
            waitMs: fc.integer({ min: 0, max: 30_000 }),
            cost: fc.integer({ min: 0, max: 3 }),
          }),
          {
            minLength: 1,
            maxLength: 40,
          },
        ),
        async (which, trace) => {
          const time = timeline();
          const backend = new InMemoryBackend({ clock: time.clock });
          try {
            const make = (uid: string, mode: "enforce" | "shadow") =>
              new HTTPThrottle<string>({
                uid,
                rate: "5/m",
                backend,
                identifier: byName,
                strategy: (strategies[which] as () => FixedWindowStrategy)(),
                mode,
              });
            const enforcing = make("enforcing", "enforce");
            const shadow = make("shadow", "shadow");
            for (const { waitMs, cost } of trace) {
              time.advance(waitMs);
              const e = await enforcing.tryHit("k", { cost });
              const s = await shadow.hit("k", { cost });
              assert.deepEqual(
                { ...s, uid: "", shadow: undefined },
                { ...e, uid: "", shadow: undefined },
              );
              const [pe, ps] = [await enforcing.peek("k"), await shadow.peek("k")];
              assert.deepEqual([ps.remaining, ps.resetAfterMs], [pe.remaining, pe.resetAfterMs]);
            }
          } finally {
            await backend.close();
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});
