import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import fc from "fast-check";
import { MemcachedBackend } from "../../../src/backends/memcached/index.js";
import { exptime, memcachedKey } from "../../../src/backends/memcached/keys.js";
import {
  BackendConnectionError,
  type BackendError,
  ConfigurationError,
} from "../../../src/errors.js";
import { Rate } from "../../../src/rate.js";
import {
  FixedWindowStrategy,
  SlidingWindowLogStrategy,
  TokenBucketStrategy,
} from "../../../src/strategies/index.js";
import { tryHitAll } from "../../../src/throttles/all-or-nothing.js";
import { HTTPThrottle } from "../../../src/throttles/http.js";
import { allStrategies } from "../../strategies/harness.js";
import {
  hasBinary,
  type MemcachedServer,
  memcachedStats,
  startMemcached,
} from "../../support/servers.js";
import { assertNoOverAdmission, assertSameDecisions } from "../shared-checks.js";

const enabled = hasBinary("memcached");

describe("memcached keys", () => {
  it("are at most 250 printable bytes without whitespace, whatever the identity", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 600 }), (identity) => {
        const key = memcachedKey("ns", 7, `uid:${identity}`);
        assert.ok(Buffer.byteLength(key) <= 250, key);
        assert.match(key, /^[\x21-\x7e]+$/);
      }),
    );
    assert.notEqual(memcachedKey("ns", 1, "u:a b"), memcachedKey("ns", 1, "u:a_b"));
    assert.notEqual(memcachedKey("ns", 1, "u:x"), memcachedKey("ns", 2, "u:x"));
  });

  it("expire relative up to 30 days and absolute beyond, in whole seconds", () => {
    const now = 1_800_000_000_000;
    assert.equal(exptime(1, now), 1);
    assert.equal(exptime(1500, now), 2);
    assert.equal(exptime(30 * 86_400_000, now), 30 * 86_400);
    assert.equal(exptime(45 * 86_400_000, now), 1_800_000_000 + 45 * 86_400);
  });
});

describe("MemcachedBackend against a real memcached", { skip: !enabled }, () => {
  let server: MemcachedServer;
  let now = 0;
  let backend: MemcachedBackend;

  before(async () => {
    server = await startMemcached();
    backend = new MemcachedBackend({ servers: [server.address], namespace: "t", clock: () => now });
    await backend.initialize();
  });
  after(async () => {
    await backend.close();
    await server.stop();
  });

  for (const strategy of allStrategies()) {
    it(`${strategy.name}: decides exactly as the TypeScript strategy over random traces`, () =>
      assertSameDecisions(
        backend,
        strategy,
        (at) => {
          now = at;
        },
        ["allowed", "remaining", "retryAfterMs", "delayMs"],
        15,
      ));
  }

  it("admits exactly the capacity across four OS processes, for every strategy", () =>
    assertNoOverAdmission("memcached", server.address));

  it("applies a group all or nothing: a rejection leaves every counter as it was", async (t) => {
    now = Date.now();
    const group = new MemcachedBackend({ servers: [server.address], namespace: "group" });
    t.after(() => group.close());
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
    const rejected = await tryHitAll([short, long], conn);
    assert.deepEqual(
      rejected.map((d) => d.allowed),
      [false, true],
    );
    assert.equal((await long.peek(conn)).remaining, 3, "the long window counted only the first");
  });

  it("keeps hostile identities apart", async () => {
    const strategy = new SlidingWindowLogStrategy();
    const rate = Rate.parse("1/h");
    const identities = ["a b", "a_b", "x\r\nset evil 0 0 1", "é", "🙂", "k".repeat(2000), "{}%:"];
    for (const identity of identities) {
      const first = await backend.decide(
        { uid: "h", identity, strategy, rate, cost: 1 },
        "consume",
      );
      assert.ok(first.allowed, JSON.stringify(identity.slice(0, 20)));
    }
    for (const identity of identities) {
      const again = await backend.decide(
        { uid: "h", identity, strategy, rate, cost: 1 },
        "consume",
      );
      assert.ok(!again.allowed, JSON.stringify(identity.slice(0, 20)));
    }
  });

  it("stores windows longer than 30 days", async () => {
    now = Date.now();
    const strategy = new FixedWindowStrategy();
    const rate = Rate.parse("1/45d");
    const request = { uid: "long", identity: "c", strategy, rate, cost: 1 };
    assert.ok((await backend.decide(request, "consume")).allowed);
    assert.ok(!(await backend.decide(request, "consume")).allowed);
  });

  it("keeps one item per client for every strategy: clear() forgets a fixed window's client", async () => {
    now = Date.now();
    const strategy = new FixedWindowStrategy();
    const rate = Rate.parse("1/h");
    const request = { uid: "forget", identity: "c", strategy, rate, cost: 1 };
    assert.ok((await backend.decide(request, "consume")).allowed);
    assert.ok(!(await backend.decide(request, "consume")).allowed);
    await backend.clear("forget", "c");
    assert.ok((await backend.decide(request, "consume")).allowed, "forgotten without the rate");
  });

  it("clears a namespace by generation, here and in other processes; a non-persistent one on close", async (t) => {
    now = Date.now();
    const strategy = new TokenBucketStrategy();
    const rate = Rate.parse("1/h");
    const request = { uid: "g", identity: "c", strategy, rate, cost: 1 };
    const other = new MemcachedBackend({
      servers: [server.address],
      namespace: "t",
      generationRefreshMs: 0,
      clock: () => now,
    });
    t.after(() => other.close());
    assert.ok((await backend.decide(request, "consume")).allowed);
    assert.ok(!(await other.decide(request, "consume")).allowed, "one counter, two processes");
    await backend.reset();
    // The other process reads the new generation in the background of its calls: it follows
    // within a few, however slowly they come. Until then it sees the old, spent counter.
    for (let polls = 0; !(await other.decide(request, "peek")).allowed; polls++) {
      assert.ok(polls < 50, "the other process followed to the fresh namespace");
      await sleep(20);
    }
    assert.ok((await other.decide(request, "consume")).allowed, "a fresh namespace");
    assert.ok(!(await backend.decide(request, "consume")).allowed, "one counter again");

    const temporary = new MemcachedBackend({
      servers: [server.address],
      namespace: "temp",
      persistent: false,
    });
    t.after(() => temporary.close()); // after the close() under test: a second does nothing
    await temporary.set("k", "v");
    await temporary.close();
    const reopened = new MemcachedBackend({ servers: [server.address], namespace: "temp" });
    t.after(() => reopened.close());
    assert.equal(await reopened.get("k"), null);
  });

  it("offers the primitives", async () => {
    assert.equal(await backend.get("p:missing"), null);
    await backend.set("p:s", "hello", 60_000);
    assert.equal(await backend.get("p:s"), "hello");
    await backend.delete("p:s");
    await backend.delete("p:s");
    assert.equal(await backend.get("p:s"), null);
  });

  it("gives locks a token and a TTL; only the holder releases", async () => {
    // A hold meant to last is a minute long: no stall of this process can outlast it.
    const held = await backend.lock("job", { ttlMs: 60_000 });
    await assert.rejects(backend.lock("job", { blocking: false }), (error: BackendError) => {
      return error.code === "ERR_TRAFFIK_LOCK_HELD";
    });
    assert.equal(await held.release(), true);
    assert.equal(await held.release(), false, "twice is harmless");
    const expiring = await backend.lock("job", { ttlMs: 1000 });
    // memcached counts TTLs in whole seconds.
    const next = await backend.lock("job", { ttlMs: 60_000, blockingTimeoutMs: 30_000 });
    assert.equal(await expiring.release(), false, "an expired holder cannot free the new one");
    assert.equal(await next.release(), true);
  });

  it("fails clearly on a malformed address or an unreachable server", async (t) => {
    assert.throws(() => new MemcachedBackend({ servers: ["no-port"] }), ConfigurationError);
    assert.throws(() => new MemcachedBackend({ servers: ["host:99999"] }), ConfigurationError);
    assert.throws(() => new MemcachedBackend({ poolSize: 0 }), ConfigurationError);
    const unreachable = new MemcachedBackend({ servers: ["127.0.0.1:1"], timeoutMs: 300 });
    t.after(() => unreachable.close());
    await assert.rejects(unreachable.initialize(), BackendConnectionError);
  });
});

describe("MemcachedBackend on two servers", { skip: !enabled }, () => {
  it("spreads keys over both by consistent hashing and decides correctly", async () => {
    const servers = await Promise.all([startMemcached(), startMemcached()]);
    const backend = new MemcachedBackend({
      servers: servers.map((s) => s.address),
      namespace: "two",
    });
    const strategy = new TokenBucketStrategy();
    const rate = Rate.parse("1/h");
    try {
      for (let i = 0; i < 100; i++) {
        const request = { uid: "spread", identity: `c${i}`, strategy, rate, cost: 1 };
        assert.ok((await backend.decide(request, "consume")).allowed);
        assert.ok(!(await backend.decide(request, "consume")).allowed);
      }
      const items = await Promise.all(
        servers.map(async (s) => (await memcachedStats(s.port)).curr_items ?? 0),
      );
      assert.ok(
        items.every((n) => n >= 25),
        `keys per server: ${items.join(", ")}`,
      );
    } finally {
      await backend.close();
      await Promise.all(servers.map((s) => s.stop()));
    }
  });
});

describe("MemcachedBackend when memcached dies", { skip: !enabled }, () => {
  it("decides by onError while memcached is down, leaks no rejection, and is back on it within 60 polls", async () => {
    const server = await startMemcached();
    const backend = new MemcachedBackend({
      servers: [server.address],
      namespace: "faults",
      // What onError does, so degraded mode (which would decide instead) is off.
      degradedMode: false,
      timeoutMs: 200,
    });
    const throttle = new HTTPThrottle({ uid: "f", rate: "1000/s", backend, onError: "allow" });
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    const conn = { ip: "192.0.2.9" };
    try {
      assert.equal((await throttle.hit(conn)).source, "backend");
      await server.kill();
      // Answered by onError at once or by the deadline at the latest: deadlines.test.ts proves
      // that bound without a stopwatch, which load would break.
      for (let i = 0; i < 5; i++) assert.equal((await throttle.hit(conn)).source, "error");
      await server.start();
      // Counted in polls, not measured: a stall delays the client's reconnection and the polls
      // alike, so it cannot fail this.
      let source = "error";
      for (let polls = 0; source !== "backend"; polls++) {
        assert.ok(polls < 60, "back on memcached within 60 polls, 50 ms apart");
        await sleep(50);
        source = (await throttle.hit(conn)).source;
      }
      assert.deepEqual(unhandled, []);
    } finally {
      process.off("unhandledRejection", onUnhandled);
      await backend.close();
      await server.stop();
    }
  });
});
