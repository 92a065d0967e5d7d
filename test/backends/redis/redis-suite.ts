/** What redis.test.ts and redis-older-clients.test.ts run: the RedisBackend suite for one client library. */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";
import { RedisBackend } from "../../../src/backends/redis/index.js";
import { stateKey } from "../../../src/backends/redis/keys.js";
import {
  BackendConnectionError,
  BackendError,
  ConfigurationError,
  ConnectionThrottled,
} from "../../../src/errors.js";
import { HTTPThrottle, Rate, tryHitAll } from "../../../src/index.js";
import { FixedWindowStrategy } from "../../../src/strategies/index.js";
import { allStrategies } from "../../strategies/harness.js";
import { backendOn, type ClientKind } from "../../support/redis-clients.js";
import { freePort, hasBinary, type RedisServer, startRedis } from "../../support/servers.js";
import { assertNoOverAdmission, decideVia } from "../shared-checks.js";
import { checkWindowEdges } from "./window-edges.js";

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

/** Decision calls among `counts`: by FCALL of the library, or by EVALSHA or EVAL of the script. */
const decisionCalls = (counts: Record<string, number>): number =>
  (counts.fcall ?? 0) + (counts.evalsha ?? 0) + (counts.eval ?? 0);

/**
 * The RedisBackend suite, on a real redis-server, through the client library `kind`. Each test
 * file runs it for some of the libraries: all four in one file took 100 s on a loaded machine,
 * near the runner's two minutes a file.
 */
export function describeRedisBackend(kind: ClientKind): void {
  describe(`RedisBackend on a real redis-server, through ${kind.name}`, { skip: !enabled }, () => {
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
      await assertNoOverAdmission("redis", server.url, kind.name);
    });

    it("uses the server's clock: clients minutes apart share one window", async () => {
      await admin.flushall();
      /**
       * Twelve requests from two app servers whose clocks are ten minutes apart: six from the
       * one behind, then six from the one ahead, whose clock is past the first one's window.
       */
      const admittedBy = async (namespace: string, clock?: () => number): Promise<number> => {
        const realNow = Date.now;
        const backends = [0, 1].map(() =>
          backendOn(kind, server.url, { namespace, ...(clock && { clock }) }),
        );
        const throttles = backends.map(
          (backend) =>
            new HTTPThrottle({
              uid: "t",
              rate: "6/m",
              backend,
              strategy: new FixedWindowStrategy(),
            }),
        );
        let admitted = 0;
        try {
          for (let i = 0; i < 12; i++) {
            const ahead = i >= 6;
            Date.now = () => realNow() + (ahead ? 300_000 : -300_000);
            if ((await (throttles[ahead ? 1 : 0] as HTTPThrottle).tryHit(req())).allowed)
              admitted++;
          }
        } finally {
          Date.now = realNow;
          await Promise.all(backends.map((b) => b.close()));
        }
        return admitted;
      };
      assert.equal(await admittedBy("server-clock"), 6);
      // The same two servers deciding on their own clocks would each get a window of their own.
      assert.equal(await admittedBy("client-clock", () => Date.now()), 12);
    });

    it("ends fixed windows at their boundaries on the server's clock, alone, in groups, in batches", async (t) => {
      // No test clock: this is the path production takes, where Redis's own key expiry ends
      // each window. The server tells each decision's window (see window-edges.ts).
      const backend = backendOn(kind, server.url, { namespace: "edges", blockCache: false });
      t.after(() => backend.close());
      await backend.initialize();
      const rate = Rate.parse("4/100ms");
      const strategy = new FixedWindowStrategy();
      for (const via of ["alone", "group", "batch"] as const) {
        const request = { uid: via, identity: "edge", strategy, rate, cost: 1 };
        await checkWindowEdges({
          admin,
          key: `edges:${stateKey(via, "edge")}`,
          rate,
          decide: (mode) => decideVia(via, backend, request, mode),
          windows: 5,
        });
      }
    });

    it("gives a fixed-window counter that lost its expiry its window's end again", async (t) => {
      const backend = backendOn(kind, server.url, { namespace: "heal" });
      t.after(() => backend.close());
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
    });

    it("decides a fixed-window request with four commands, and answers known rejections in-process", async (t) => {
      await admin.flushall();
      const backend = backendOn(kind, server.url, { namespace: "count" });
      t.after(() => backend.close());
      const throttle = new HTTPThrottle({ uid: "fw", rate: "50/h", backend });
      await throttle.hit(req()); // the first request of a window also sets the key's expiry
      await admin.config("RESETSTAT");
      for (let i = 0; i < 49; i++) await throttle.hit(req());
      const allowed = await commandCounts(admin);
      const total = Object.entries(allowed)
        .filter(([name]) => name !== "info")
        .reduce((sum, [, n]) => sum + n, 0);
      // FCALL, TIME (the call's deadline and clock), GET, SET
      assert.equal(total / 49, 4, JSON.stringify(allowed));
      await admin.config("RESETSTAT");
      await assert.rejects(throttle.hit(req()), ConnectionThrottled);
      for (let i = 0; i < 100; i++) await assert.rejects(throttle.hit(req()), ConnectionThrottled);
      assert.equal(
        decisionCalls(await commandCounts(admin)),
        1,
        "100 further rejections made no Redis call",
      );

      const uncached = backendOn(kind, server.url, { namespace: "count2", blockCache: false });
      t.after(() => uncached.close());
      const open = new HTTPThrottle({ uid: "fw", rate: "1/h", backend: uncached });
      await open.hit(req());
      await admin.config("RESETSTAT");
      for (let i = 0; i < 10; i++) await assert.rejects(open.hit(req()), ConnectionThrottled);
      assert.equal(decisionCalls(await commandCounts(admin)), 10);
    });

    it("decides a group of throttles all or nothing in one script", async (t) => {
      await admin.flushall();
      const backend = backendOn(kind, server.url, { namespace: "group" });
      t.after(() => backend.close());
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
    });

    it("survives NOSCRIPT: the script cache flushed, as after a restart or failover", async (t) => {
      const backend = backendOn(kind, server.url, { namespace: "noscript" });
      t.after(() => backend.close());
      const throttle = new HTTPThrottle({ uid: "n", rate: "5/h", backend });
      await throttle.hit(req());
      await admin.script("FLUSH");
      assert.equal((await throttle.hit(req())).remaining, 3);
    });

    it("keeps hostile identities in their slot: braces, separators, newlines, kilobytes", async (t) => {
      await admin.flushall();
      const backend = backendOn(kind, server.url, { namespace: "hostile" });
      t.after(() => backend.close());
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
    });

    it("clears its namespace with SCAN, on reset() and on close() when not persistent", async (t) => {
      await admin.flushall();
      const other = backendOn(kind, server.url, { namespace: "other" });
      t.after(() => other.close());
      await new HTTPThrottle({ uid: "o", rate: "5/h", backend: other }).hit(req());
      const backend = backendOn(kind, server.url, { namespace: "mine", persistent: false });
      t.after(() => backend.close()); // after the close() under test: a second close does nothing
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
    });

    it("implements the primitives and locks with tokens and TTLs", async (t) => {
      const backend = backendOn(kind, server.url, { namespace: "prim" });
      t.after(() => backend.close());
      await backend.set("kept", "1", 60_000);
      assert.equal(await backend.get("kept"), "1");
      await backend.set("a", "1", 50);
      // Redis counts the TTL on its own clock: read it back rather than race it.
      const ttl = await admin.pttl("prim:a");
      assert.ok(ttl === -2 || (ttl > 0 && ttl <= 50), `"a" expires in ${ttl} ms`);
      await sleep(60); // past the TTL on Redis's clock too: a stall only makes the sleep longer
      assert.equal(await backend.get("a"), null);

      // Holds meant to last are a minute long: no stall of this process can outlast them.
      const first = await backend.lock("x", { ttlMs: 60_000 });
      await assert.rejects(backend.lock("x", { blocking: false }), BackendError);
      const waiting = backend.lock("x", { blockingTimeoutMs: 60_000 });
      await sleep(20); // the waiter polls meanwhile
      assert.equal(await first.release(), true);
      const second = await waiting;
      assert.equal(await first.release(), false, "only the holder releases");
      // A crashed holder's lock expires by its TTL, and a waiter takes it then.
      const crashed = await backend.lock("y", { ttlMs: 30 });
      const next = await backend.lock("y", { blockingTimeoutMs: 60_000 });
      assert.equal(await crashed.release(), false);
      await next.release();
      await second.release();
      await assert.rejects(
        backend
          .lock("x", { ttlMs: 60_000 })
          .then((l) => backend.lock("x", { blockingTimeoutMs: 20 }).finally(() => l.release())),
        /held/,
      );
    });

    it("rejects a malformed URL at construction and an unreachable server at initialize()", async (t) => {
      for (const url of ["not a url", "http://127.0.0.1:6379", ""]) {
        assert.throws(
          () => new RedisBackend({ connection: url, namespace: "x" }),
          ConfigurationError,
        );
      }
      const port = await freePort();
      const backend = backendOn(kind, `redis://127.0.0.1:${port}`, {
        namespace: "x",
        timeoutMs: 300,
      });
      t.after(() => backend.close());
      await assert.rejects(backend.initialize(), BackendConnectionError);
    });

    it("decides by onError while Redis is down, and is back on it within 50 polls 20 ms apart", async () => {
      const own = await startRedis();
      const unhandled: unknown[] = [];
      const onUnhandled = (reason: unknown) => unhandled.push(reason);
      process.on("unhandledRejection", onUnhandled);
      const backend = backendOn(kind, own.url, {
        namespace: "fault",
        timeoutMs: 200,
        // What onError does, so degraded mode (which would decide instead) is off.
        degradedMode: false,
      });
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
        // Answered by onError at once (the connection is refused) or by the deadline at the
        // latest: deadlines.test.ts proves that bound without a stopwatch, which load would break.
        for (let i = 0; i < 20; i++) {
          assert.equal((await open.hit(req())).source, "error");
          await assert.rejects(closed.hit(req()), ConnectionThrottled);
        }
        await own.start();
        // Counted in polls, not measured: a stall delays the client's reconnection timer and the
        // polls' alike, so it cannot fail this.
        let source = "error";
        for (let polls = 0; source !== "backend"; polls++) {
          assert.ok(polls < 50, "back on Redis within 50 polls, 20 ms apart");
          await sleep(20);
          source = (await open.hit(req())).source;
        }
        await sleep(50);
        assert.deepEqual(unhandled, []);
      } finally {
        process.off("unhandledRejection", onUnhandled);
        await backend.close();
        await own.stop();
      }
    });

    it("decides custom strategies through locks", async (t) => {
      const backend = backendOn(kind, server.url, { namespace: "custom" });
      t.after(() => backend.close());
      const inner = new FixedWindowStrategy();
      const custom = {
        name: "custom",
        capacity: (r: Rate) => inner.capacity(r),
        apply: inner.apply.bind(inner),
      };
      const throttle = new HTTPThrottle({ uid: "c", rate: "3/h", backend, strategy: custom });
      const results = await Promise.all(Array.from({ length: 10 }, () => throttle.tryHit(req())));
      assert.equal(results.filter((d) => d.allowed).length, 3);
    });
  });
}
