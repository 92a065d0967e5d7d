/**
 * Decision events on the in-memory backend: the channels and the hooks see each decision,
 * rejection and `onError` decision with the right fields, identities hashed unless asked raw.
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { InMemoryBackend } from "../../src/backends/inmemory/index.js";
import { BackendError, ConfigurationError } from "../../src/errors.js";
import {
  type BackendErrorEvent,
  type BackendStateEvent,
  CHANNELS,
  type DecisionEvent,
  HTTPThrottle,
  type ThrottledEvent,
  tryHitAll,
  UNLIMITED,
} from "../../src/index.js";
import { TokenBucketStrategy } from "../../src/strategies/index.js";
import { memoryLogger, record } from "./support.js";

/** An in-memory backend whose decisions fail, as a backend in an outage does. */
class FailingBackend extends InMemoryBackend {
  override decideThen<R>(
    _request: unknown,
    _mode: unknown,
    _map: unknown,
    recover: (error: unknown) => R | Promise<R>,
  ): R | Promise<R> {
    return recover(new BackendError("connection refused"));
  }
}

const HEX16 = /^[0-9a-f]{16}$/;

describe("decision events (in-memory backend)", () => {
  const backend = new InMemoryBackend({ namespace: "events-mem" });
  after(() => backend.close());

  it("publishes every decision on traffik:decision and each rejection on traffik:throttled", async () => {
    const decisions = record<DecisionEvent>(CHANNELS.decision);
    const rejections = record<ThrottledEvent>(CHANNELS.throttled);
    try {
      const throttle = new HTTPThrottle<string>({
        uid: "chan",
        rate: "2/h",
        backend,
        identifier: (id) => id,
      });
      for (let i = 0; i < 3; i++) await throttle.tryHit("alice");
      await throttle.peek("alice");
      assert.equal(decisions.events.length, 4);
      const [first, , third, peeked] = decisions.events as DecisionEvent[];
      assert.deepEqual(
        { ...first, identity: "?", durationMs: 0 },
        {
          uid: "chan",
          identity: "?",
          strategy: "fixed-window",
          mode: "consume",
          cost: 1,
          allowed: true,
          enforced: true,
          remaining: 1,
          limit: 2,
          retryAfterMs: 0,
          delayMs: 0,
          source: "backend",
          backend: "events-mem",
          durationMs: 0,
        },
      );
      assert.match(first?.identity ?? "", HEX16);
      assert.ok((first?.durationMs ?? -1) >= 0);
      assert.equal(third?.allowed, false);
      assert.ok((third?.retryAfterMs ?? 0) > 0);
      assert.equal(peeked?.mode, "peek");
      assert.deepEqual(rejections.events, [third]);
      // The same identity hashes the same in this process: events of one client correlate.
      assert.ok(decisions.events.every((e) => e.identity === first?.identity));
      assert.notEqual(first?.identity, "alice");
    } finally {
      decisions.stop();
      rejections.stop();
    }
  });

  it("calls onDecision and onThrottled with the same events, raw identities when asked", async () => {
    const seen: DecisionEvent[] = [];
    const throttled: ThrottledEvent[] = [];
    const throttle = new HTTPThrottle<string>({
      uid: "hooks",
      rate: "3/h",
      backend,
      strategy: new TokenBucketStrategy(),
      identifier: (id) => id,
      eventIdentity: "raw",
      onDecision: (event) => seen.push(event),
      onThrottled: (event) => throttled.push(event),
    });
    await throttle.tryHit("bob", { cost: 2 });
    await throttle.tryHit("bob", { cost: 2 });
    assert.deepEqual(
      seen.map((e) => [e.identity, e.strategy, e.cost, e.allowed, e.remaining]),
      [
        ["bob", "token-bucket:limit", 2, true, 1],
        ["bob", "token-bucket:limit", 2, false, 1],
      ],
    );
    assert.deepEqual(throttled, [seen[1]]);
  });

  it("publishes each throttle of a group, and nothing for an exempt connection", async () => {
    const decisions = record<DecisionEvent>(CHANNELS.decision);
    try {
      const make = (uid: string, rate: string) =>
        new HTTPThrottle<string>({
          uid,
          rate,
          backend,
          identifier: (id) => (id === "admin" ? UNLIMITED : id),
        });
      const burst = make("group-burst", "1/m");
      const sustained = make("group-sustained", "5/h");
      await tryHitAll([burst, sustained], "carol");
      await tryHitAll([burst, sustained], "carol");
      await burst.tryHit("admin");
      assert.deepEqual(
        decisions.events.map((e) => `${e.uid}:${e.allowed}:${e.remaining}`),
        [
          "group-burst:true:0",
          "group-sustained:true:4",
          "group-burst:false:0",
          // Admitted by itself, it counted nothing: the group was rejected.
          "group-sustained:true:4",
        ],
      );
    } finally {
      decisions.stop();
    }
  });

  it("publishes onError's decision with its cause, and the decision it made", async () => {
    const failing = new FailingBackend({ namespace: "events-failing" });
    const errors = record<BackendErrorEvent>(CHANNELS.backendError);
    const decisions = record<DecisionEvent>(CHANNELS.decision);
    const hooked: BackendErrorEvent[] = [];
    const logger = memoryLogger();
    try {
      const throttle = new HTTPThrottle<string>({
        uid: "failing",
        rate: "5/m",
        backend: failing,
        identifier: (id) => id,
        onError: "allow",
        logger,
        onBackendError: (event) => hooked.push(event),
      });
      await throttle.tryHit("dave");
      await throttle.tryHit("dave");
      assert.equal(errors.events.length, 2);
      assert.deepEqual(hooked, errors.events);
      assert.equal(errors.events[0]?.uid, "failing");
      assert.equal(errors.events[0]?.action, "allow");
      assert.ok(errors.events[0]?.error instanceof BackendError);
      assert.match(errors.events[0]?.error.message ?? "", /connection refused/);
      assert.deepEqual(
        decisions.events.map((e) => [e.source, e.allowed, e.backend]),
        [
          ["error", true, "events-failing"],
          ["error", true, "events-failing"],
        ],
      );
      // One line per outage, not per request, to the logger instead of a process warning.
      assert.equal(logger.lines.length, 1);
      assert.equal(logger.lines[0]?.level, "warn");
      assert.equal(logger.lines[0]?.fields.code, "TRAFFIK_BACKEND_OUTAGE");
      assert.equal(logger.lines[0]?.fields.uid, "failing");
    } finally {
      errors.stop();
      decisions.stop();
      await failing.close();
    }
  });

  it("publishes a backend's ready and closed", async () => {
    const states = record<BackendStateEvent>(CHANNELS.backendState);
    try {
      const own = new InMemoryBackend({ namespace: "events-states" });
      const throttle = new HTTPThrottle<string>({
        uid: "states",
        rate: "1/m",
        backend: own,
        identifier: (id) => id,
      });
      await throttle.tryHit("erin");
      await throttle.tryHit("erin");
      await own.close();
      assert.deepEqual(states.events, [
        { backend: "events-states", state: "ready" },
        { backend: "events-states", state: "closed" },
      ]);
    } finally {
      states.stop();
    }
  });

  it("a hook that throws leaves the decision standing, and is logged", async () => {
    const logger = memoryLogger();
    const throttle = new HTTPThrottle<string>({
      uid: "throwing-hook",
      rate: "1/m",
      backend,
      identifier: (id) => id,
      logger,
      onDecision: () => {
        throw new Error("hook bug");
      },
    });
    assert.equal((await throttle.hit("frank")).allowed, true);
    assert.equal(logger.lines.length, 1);
    assert.equal(logger.lines[0]?.level, "error");
    assert.match(logger.lines[0]?.message ?? "", /onDecision hook threw: hook bug/);
  });

  it("rejects bad event options with a ConfigurationError", () => {
    const base = { uid: "bad", rate: "1/m", backend };
    const bad: Record<string, unknown>[] = [
      { onDecision: "log" },
      { onThrottled: 1 },
      { onBackendError: {} },
      { eventIdentity: "sha1" },
      { logger: { warn: () => {} } },
      { logger: null },
    ];
    for (const options of bad) {
      assert.throws(
        () => new HTTPThrottle({ ...base, ...options } as never),
        ConfigurationError,
        JSON.stringify(options),
      );
    }
    assert.throws(
      () => new InMemoryBackend({ namespace: "bad-logger", logger: console.log } as never),
      ConfigurationError,
    );
  });
});
