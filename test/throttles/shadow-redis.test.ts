/**
 * Shadow mode on a real Redis (decisions by its script, on the server's clock): a shadow
 * throttle counts there exactly as an enforcing one, publishes `enforced: false`, and in a
 * group with an enforcing throttle neither rejects nor spares the enforcing one.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { RedisBackend } from "../../src/backends/redis/index.js";
import { ConnectionThrottled } from "../../src/errors.js";
import {
  CHANNELS,
  type DecisionEvent,
  HTTPThrottle,
  hitAll,
  type ThrottledEvent,
  tryHitAll,
} from "../../src/index.js";
import { TokenBucketStrategy } from "../../src/strategies/index.js";
import { record } from "../events/support.js";
import { hasBinary, startRedis } from "../support/servers.js";

const skip = !hasBinary("redis-server");

describe("shadow mode on Redis", { skip }, () => {
  it("counts as enforcing would, publishes enforced: false, and a mixed group charges the enforcing member", async (t) => {
    const server = await startRedis();
    // A generous deadline: under load, a decision answered by onError (a shadow throttle's
    // would-be rejection) is not what this test is about; every decision must be the server's.
    const backend = new RedisBackend({
      connection: server.url,
      namespace: "shadow-redis",
      timeoutMs: 5_000,
    });
    const decisions = record<DecisionEvent>(CHANNELS.decision);
    const rejections = record<ThrottledEvent>(CHANNELS.throttled);
    t.after(async () => {
      decisions.stop();
      rejections.stop();
      await backend.close().catch(() => {});
      await server.stop();
    });
    // Hour-long rates: no refill between the calls of this test, however slow the machine.
    const make = (uid: string, mode: "enforce" | "shadow", rate = "2/h") =>
      new HTTPThrottle<string>({
        uid,
        rate,
        backend,
        identifier: (id) => id,
        strategy: new TokenBucketStrategy(),
        mode,
      });
    const shadow = make("sr-shadow", "shadow");
    const enforcing = make("sr-enforce", "enforce");
    const pairs = [];
    for (let i = 0; i < 3; i++) {
      const s = await shadow.hit("k");
      const e = await enforcing.tryHit("k");
      pairs.push([s.allowed, s.remaining, e.allowed, e.remaining]);
    }
    assert.ok(decisions.events.every((e) => e.source === "backend"));
    assert.deepEqual(pairs, [
      [true, 1, true, 1],
      [true, 0, true, 0],
      [false, 0, false, 0],
    ]);
    const mine = decisions.events.filter((e) => e.uid === "sr-shadow");
    assert.deepEqual(
      mine.map((e) => [e.allowed, e.enforced, e.backend]),
      [
        [true, false, "shadow-redis"],
        [true, false, "shadow-redis"],
        [false, false, "shadow-redis"],
      ],
    );
    assert.deepEqual(
      rejections.events.map((e) => [e.uid, e.enforced]),
      [
        ["sr-shadow", false],
        ["sr-enforce", true],
      ],
    );

    const tight = make("sr-tight", "shadow", "1/h");
    const gate = make("sr-gate", "enforce", "3/h");
    const group = [];
    for (let i = 0; i < 4; i++) {
      const [s, g] = await tryHitAll([tight, gate], "g");
      group.push([s?.allowed, g?.allowed, g?.remaining]);
    }
    assert.deepEqual(group, [
      [true, true, 2],
      [false, true, 1],
      [false, true, 0],
      [false, false, 0],
    ]);
    await assert.rejects(hitAll([tight, gate], "g"), ConnectionThrottled);
  });
});
