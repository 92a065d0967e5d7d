import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";
import { RedisBackend } from "../../../src/backends/redis/index.js";
import {
  BackendConnectionError,
  BackendError,
  ConfigurationError,
  ConnectionThrottled,
  HTTPThrottle,
  Rate,
  tryHitAll,
} from "../../../src/index.js";
import { FixedWindowStrategy } from "../../../src/strategies/index.js";
import { allStrategies } from "../../strategies/harness.js";
import { freePort, hasBinary, type RedisServer, startRedis } from "../../support/servers.js";
import { assertNoOverAdmission, decideVia } from "../shared-checks.js";

const enabled = hasBinary("redis-server");
const req = (remoteAddress = "192.0.2.1") => ({ socket: { remoteAddress }, headers: {} });

/** Calls of each command since the last `CONFIG RESETSTAT`. */
async function commandCounts(redis: Redis): Promise<Record<string, number>> {
  const info = await redis.info("commandstats");
  const counts: Record<string, number> = {};
  for (const [, name, calls] of info.matchAll(/cmdstat_(\w+):calls=(\d+)/g))
    counts[name as string] = Number(calls);
  return counts;
}

describe("RedisBackend on a real redis-server", { skip: !enabled }, () => {
  let server: RedisServer;
  let admin: Redis;

  before(async () => {
    server = await startRedis();
    admin = new Redis(server.url);
  });
  after(async () => {
    admin.disconnect();
    await server.stop();
  });

  it("admits exactly the capacity across four OS processes, for every strategy", async () => {
    await admin.flushall();
    await assertNoOverAdmission("redis", server.url);
  });

  it("uses the server's clock: clients minutes apart share one window", async () => {
    await admin.flushall();
    /** Twelve requests from two app servers whose clocks are ten minutes apart. */
    const admittedBy = async (namespace: string, clock?: () => number): Promise<number> => {
      const realNow = Date.now;
      const backends = [0, 1].map(
        () => new RedisBackend({ connection: server.url, namespace, ...(clock && { clock }) }),
      );
      const throttles = backends.map(
        (backend) =>
          new HTTPThrottle({ uid: "t", rate: "6/m", backend, strategy: new FixedWindowStrategy() }),
      );
      let admitted = 0;
      try {
        for (let i = 0; i < 12; i++) {
          const skew = i % 2 === 0 ? 300_000 : -300_000;
          Date.now = () => realNow() + skew;
          if ((await (throttles[i % 2] as HTTPThrottle).tryHit(req())).allowed) admitted++;
        }
      } finally {
        Date.now = realNow;
      }
      await Promise.all(backends.map((b) => b.close()));
      return admitted;
    };
    assert.equal(await admittedBy("server-clock"), 6);
    // The same two servers deciding on their own clocks would each get a window of their own.
    assert.equal(await admittedBy("client-clock", () => Date.now()), 12);
  });

  it("ends fixed windows at their boundaries on the server's clock, alone, in groups, in batches", async () => {
    // No test clock: this is the path production takes, where Redis's own key expiry ends
    // each window. Each decision is bracketed by two readings of the server's clock.
    const backend = new RedisBackend({
      connection: server.url,
      namespace: "edges",
      blockCache: false,
    });
    await backend.initialize();
    const rate = Rate.parse("4/40ms");
    const strategy = new FixedWindowStrategy();
    const serverNow = async () => {
      const [seconds, micros] = await admin.time();
      return Number(seconds) * 1000 + Number(micros) / 1000;
    };
    for (const via of ["alone", "group", "batch"] as const) {
      const counted = new Map<number, number>(); // units admitted, by the window's end
      const until = performance.now() + 800;
      for (let i = 0; performance.now() < until; i++) {
        const mode = i % 4 === 3 ? "peek" : "consume";
        const request = { uid: via, identity: "edge", strategy, rate, cost: 1 };
        const before = await serverNow();
        const step = await decideVia(via, backend, request, mode);
        const after = await serverNow();
        if (after - before > rate.windowMs / 2) continue; // a stall: the window is unclear
        // Decided at some time from `before` to `after`: its window ends `reset` after that,
        // at a multiple of the window's length.
        const end =
          Math.ceil((Math.floor(before) + step.resetAfterMs) / rate.windowMs) * rate.windowMs;
        assert.ok(
          end <= after + step.resetAfterMs,
          `reset ${step.resetAfterMs} at ${before}–${after}`,
        );
        const count = counted.get(end) ?? 0;
        const allowed = count + 1 <= rate.limit;
        assert.deepEqual(
          [step.allowed, step.remaining],
          [allowed, allowed ? rate.limit - count - 1 : rate.limit - count],
          `${mode} at ${before}–${after}, window ending ${end}`,
        );
        if (allowed && mode === "consume") counted.set(end, count + 1);
      }
      assert.ok(counted.size >= 5, `${counted.size} windows seen`);
    }
    await backend.close();
  });

  it("gives a fixed-window counter that lost its expiry its window's end again", async () => {
    const backend = new RedisBackend({ connection: server.url, namespace: "heal" });
    const throttle = new HTTPThrottle({ uid: "fw", rate: "5/h", backend });
    await throttle.hit(req());
    const [key] = await admin.keys("heal:*");
    assert.ok(key !== undefined);
    await admin.persist(key); // as a hand on the key would
    assert.equal(await admin.pttl(key), -1);
    const decision = await throttle.tryHit(req());
    assert.equal(decision.remaining, 3);
    const left = await admin.pttl(key);
    assert.ok(left > 0 && left <= 3_600_000, `expires in ${left} ms`);
    assert.ok(decision.resetAfterMs > 0 && decision.resetAfterMs <= 3_600_000);
    await backend.close();
  });

  it("decides a fixed-window request with four commands, and answers known rejections in-process", async () => {
    await admin.flushall();
    const backend = new RedisBackend({ connection: server.url, namespace: "count" });
    const throttle = new HTTPThrottle({ uid: "fw", rate: "50/h", backend });
    await throttle.hit(req()); // the first request of a window also sets the key's expiry
    await admin.config("RESETSTAT");
    for (let i = 0; i < 49; i++) await throttle.hit(req());
    const allowed = await commandCounts(admin);
    const total = Object.entries(allowed)
      .filter(([name]) => name !== "info")
      .reduce((sum, [, n]) => sum + n, 0);
    // EVALSHA, TIME (the call's deadline), INCRBY, PTTL
    assert.equal(total / 49, 4, JSON.stringify(allowed));
    await admin.config("RESETSTAT");
    await assert.rejects(throttle.hit(req()), ConnectionThrottled);
    for (let i = 0; i < 100; i++) await assert.rejects(throttle.hit(req()), ConnectionThrottled);
    assert.equal(
      (await commandCounts(admin)).evalsha,
      1,
      "100 further rejections made no Redis call",
    );
    await backend.close();

    const uncached = new RedisBackend({
      connection: server.url,
      namespace: "count2",
      blockCache: false,
    });
    const open = new HTTPThrottle({ uid: "fw", rate: "1/h", backend: uncached });
    await open.hit(req());
    await admin.config("RESETSTAT");
    for (let i = 0; i < 10; i++) await assert.rejects(open.hit(req()), ConnectionThrottled);
    assert.equal((await commandCounts(admin)).evalsha, 10);
    await uncached.close();
  });

  it("decides a group of throttles all or nothing in one script", async () => {
    await admin.flushall();
    const backend = new RedisBackend({ connection: server.url, namespace: "group" });
    const loose = new HTTPThrottle({ uid: "loose", rate: "10/h", backend });
    const tight = new HTTPThrottle({
      uid: "tight",
      rate: "2/h",
      backend,
      strategy: allStrategies()[3],
    });
    const results = await Promise.all(
      Array.from({ length: 6 }, () => tryHitAll([loose, tight], req())),
    );
    assert.equal(results.filter((r) => r.every((d) => d.allowed)).length, 2);
    assert.equal(
      (await loose.peek(req())).remaining,
      7,
      "10 - 2 admitted - 1 peeked: rejected groups took nothing",
    );
    await backend.close();
  });

  it("survives NOSCRIPT: the script cache flushed, as after a restart or failover", async () => {
    const backend = new RedisBackend({ connection: server.url, namespace: "noscript" });
    const throttle = new HTTPThrottle({ uid: "n", rate: "5/h", backend });
    await throttle.hit(req());
    await admin.script("FLUSH");
    assert.equal((await throttle.hit(req())).remaining, 3);
    await backend.close();
  });

  it("keeps hostile identities in their slot: braces, separators, newlines, kilobytes", async () => {
    await admin.flushall();
    const backend = new RedisBackend({ connection: server.url, namespace: "hostile" });
    const throttle = new HTTPThrottle<string>({
      uid: "h",
      rate: "1/h",
      backend,
      identifier: (s) => s,
    });
    const identities = [
      "a{b}c",
      "a%7Bb%7Dc",
      "}{",
      "x:y:z",
      "with space",
      "line\nbreak",
      "{",
      "k".repeat(10_000),
      "k".repeat(10_001),
    ];
    for (const identity of identities) {
      await throttle.hit(identity);
      await assert.rejects(
        throttle.hit(identity),
        ConnectionThrottled,
        JSON.stringify(identity).slice(0, 40),
      );
    }
    const keys = await admin.keys("hostile:*");
    assert.equal(keys.length, identities.length, "one key each, no collisions");
    for (const key of keys) {
      // The hash tag is the whole encoded identity: the first "{" to the only "}".
      assert.equal(key.split("{").length, 2, key.slice(0, 40));
      assert.equal(key.split("}").length, 2, key.slice(0, 40));
      assert.ok(key.length < 400);
    }
    await backend.close();
  });

  it("clears its namespace with SCAN, on reset() and on close() when not persistent", async () => {
    await admin.flushall();
    const other = new RedisBackend({ connection: server.url, namespace: "other" });
    await new HTTPThrottle({ uid: "o", rate: "5/h", backend: other }).hit(req());
    const backend = new RedisBackend({
      connection: server.url,
      namespace: "mine",
      persistent: false,
    });
    const throttle = new HTTPThrottle({ uid: "m", rate: "5/h", backend });
    for (let i = 0; i < 30; i++)
      await throttle.hit(req(`192.0.2.${i}`), { cost: 1 }).catch(() => undefined);
    await backend.set("plain", "1");
    assert.equal((await admin.keys("mine:*")).length, 31);
    await admin.config("RESETSTAT");
    await backend.close();
    const counts = await commandCounts(admin);
    assert.ok(counts.scan !== undefined && counts.keys === undefined, JSON.stringify(counts));
    assert.equal((await admin.keys("mine:*")).length, 0);
    assert.equal((await admin.keys("other:*")).length, 1);
    await other.close();
  });

  it("implements the primitives and locks with tokens and TTLs", async () => {
    const backend = new RedisBackend({ connection: server.url, namespace: "prim" });
    await backend.set("a", "1", 50);
    assert.equal(await backend.get("a"), "1");
    assert.equal(await backend.increment("n", 5), 5);
    assert.equal(await backend.decrement("n", 2), 3);
    assert.equal(await backend.incrementWithTtl("w", 2, 60_000), 2);
    assert.equal(await backend.incrementWithTtl("w", 2, 10), 4);
    assert.ok((await admin.pttl("prim:w")) > 1000, "the TTL is set only on creation");
    await sleep(60);
    assert.equal(await backend.get("a"), null);

    const first = await backend.lock("x", { ttlMs: 100 });
    await assert.rejects(backend.lock("x", { blocking: false }), BackendError);
    const waiting = backend.lock("x", { blockingTimeoutMs: 2000 });
    await sleep(20);
    assert.equal(await first.release(), true);
    const second = await waiting;
    assert.equal(await first.release(), false, "only the holder releases");
    await sleep(150); // second's TTL (default 5 s) still holds; a crashed holder's lock expires:
    const crashed = await backend.lock("y", { ttlMs: 30 });
    const next = await backend.lock("y", { blockingTimeoutMs: 1000 });
    assert.equal(await crashed.release(), false);
    await next.release();
    await second.release();
    await assert.rejects(
      backend
        .lock("x", { ttlMs: 1000 })
        .then((l) => backend.lock("x", { blockingTimeoutMs: 20 }).finally(() => l.release())),
      /held/,
    );
    await backend.close();
  });

  it("rejects a malformed URL at construction and an unreachable server at initialize()", async () => {
    for (const url of ["not a url", "http://127.0.0.1:6379", ""]) {
      assert.throws(
        () => new RedisBackend({ connection: url, namespace: "x" }),
        ConfigurationError,
      );
    }
    const port = await freePort();
    const backend = new RedisBackend({
      connection: `redis://127.0.0.1:${port}`,
      namespace: "x",
      timeoutMs: 300,
    });
    await assert.rejects(backend.initialize(), BackendConnectionError);
    await backend.close();
  });

  it("decides by onError within the timeout while Redis is down, and recovers within a second", async () => {
    const own = await startRedis();
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    const backend = new RedisBackend({ connection: own.url, namespace: "fault", timeoutMs: 200 });
    const open = new HTTPThrottle({ uid: "open", rate: "1000/h", backend, onError: "allow" });
    const closed = new HTTPThrottle({
      uid: "closed",
      rate: "1000/h",
      backend,
      onError: "throttle",
    });
    try {
      assert.equal((await open.hit(req())).source, "backend");
      await own.kill();
      for (let i = 0; i < 20; i++) {
        const started = performance.now();
        const decision = await open.hit(req());
        assert.equal(decision.source, "error");
        await assert.rejects(closed.hit(req()), ConnectionThrottled);
        assert.ok(performance.now() - started < 500, "within the timeout");
      }
      await own.start();
      const back = performance.now();
      let source = "error";
      while (source !== "backend" && performance.now() - back < 1500) {
        source = (await open.hit(req())).source;
        if (source !== "backend") await sleep(20);
      }
      assert.equal(source, "backend");
      assert.ok(performance.now() - back < 1000, `back after ${performance.now() - back} ms`);
      await sleep(50);
      assert.deepEqual(unhandled, []);
    } finally {
      process.off("unhandledRejection", onUnhandled);
      await backend.close();
      await own.stop();
    }
  });

  it("decides custom strategies through locks", async () => {
    const backend = new RedisBackend({ connection: server.url, namespace: "custom" });
    const inner = new FixedWindowStrategy();
    const custom = {
      name: "custom",
      capacity: (r: Rate) => inner.capacity(r),
      apply: inner.apply.bind(inner),
    };
    const throttle = new HTTPThrottle({ uid: "c", rate: "3/h", backend, strategy: custom });
    const results = await Promise.all(Array.from({ length: 10 }, () => throttle.tryHit(req())));
    assert.equal(results.filter((d) => d.allowed).length, 3);
    await backend.close();
  });
});
