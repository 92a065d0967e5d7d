import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Redis } from "ioredis";
import { HTTPThrottle, Rate, tryHitAll } from "../../src/index.js";
import { TokenBucketStrategy } from "../../src/strategies/index.js";
import type { Strategy } from "../../src/strategies/strategy.js";
import { allStrategies } from "../strategies/harness.js";
import { MapBackend } from "../support/map-backend.js";
import { hasBinary, type RedisServer, startRedis } from "../support/servers.js";
import { RedisPrimitivesBackend } from "./custom/redis-primitives-backend.js";
import { assertNoOverAdmission, assertSameDecisions, decideVia } from "./shared-checks.js";

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

describe("a custom backend with only the required methods, on a real Redis", {
  skip: !hasBinary("redis-server"),
}, () => {
  let server: RedisServer;
  let client: Redis;
  let now = 0;
  let backend: RedisPrimitivesBackend;

  before(async () => {
    server = await startRedis();
    client = new Redis(server.url);
    // The checks replay traces at chosen times: a test clock is the one capability added.
    // Redis counts TTLs in real time, which here runs ahead of the replayed clock or far behind
    // it, so states are kept an hour longer: expiry is decided from the state all the same.
    backend = new (class extends RedisPrimitivesBackend {
      override now(): number {
        return now;
      }
      override set(key: string, value: string, ttlMs?: number): Promise<void> {
        return super.set(key, value, ttlMs === undefined ? undefined : ttlMs + 3_600_000);
      }
    })(client, { namespace: "custom" });
  });
  after(async () => {
    await backend.close();
    await client.quit();
    await server.stop();
  });

  for (const strategy of allStrategies()) {
    for (const via of ["alone", "group"] as const) {
      it(`${strategy.name}: decides ${via} exactly as the TypeScript strategy, peeks included`, () =>
        assertSameDecisions(
          backend,
          strategy,
          (at) => {
            now = at;
          },
          ["allowed", "remaining", "retryAfterMs", "resetAfterMs", "delayMs"],
          8,
          via,
        ));
    }
  }

  // 30 rounds: 120 requests a key, six times any capacity. Every waiter polls the lock (up to
  // every 50 ms), so 240 waiters a key kept Redis and the four processes busy polling.
  it("admits exactly the capacity across four OS processes, for every strategy", () =>
    assertNoOverAdmission("custom", server.url, "ioredis", 30));

  it("applies a group all or nothing, forgets a client, and resets the namespace", async () => {
    now = Date.now();
    const group = new RedisPrimitivesBackend(client, { namespace: "groups" });
    const short = new HTTPThrottle({
      uid: "short",
      rate: "1/h",
      backend: group,
      strategy: new TokenBucketStrategy(),
    });
    const long = new HTTPThrottle({ uid: "long", rate: "5/h", backend: group });
    const conn = { ip: "192.0.2.1" };
    assert.deepEqual(
      (await tryHitAll([short, long], conn)).map((d) => d.allowed),
      [true, true],
    );
    assert.deepEqual(
      (await tryHitAll([short, long], conn)).map((d) => d.allowed),
      [false, true],
    );
    assert.equal((await long.peek(conn)).remaining, 3, "the long window counted only the first");
    await short.reset(conn);
    assert.equal((await short.peek(conn)).allowed, true, "the client was forgotten");
    assert.equal((await long.peek(conn)).remaining, 3, "in that throttle only");
    await group.reset();
    assert.equal((await long.peek(conn)).remaining, 4, "a fresh namespace");
    assert.deepEqual(await client.keys("groups:*"), []);
  });

  it("decides a repeated throttle in a group on what the first member staged", async () => {
    const [strategy] = allStrategies() as [Strategy];
    const request = { uid: "twice", identity: "c", strategy, rate: Rate.parse("3/h"), cost: 1 };
    now = Date.now();
    const steps = await backend.decideAll([request, request], "consume");
    assert.deepEqual(
      steps.map((step) => step.remaining),
      [2, 1],
    );
    const peek = { ...request, cost: 0 };
    assert.equal((await decideVia("alone", backend, peek, "peek")).remaining, 1);
  });
});
