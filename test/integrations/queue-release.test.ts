/**
 * A request the queueing leaky bucket admitted with a delay, whose client goes away before its
 * turn, gives its place in the client's queue back, when nothing queued behind it: the client's
 * next request starts when the abandoned one would have, not a turn later. One queued behind it
 * keeps its start, so the spacing holds. On every backend (each path: in memory, a Redis script,
 * memcached's compare-and-swap, the lock path custom backends inherit), through `hit`,
 * `tryHitAll` and Express on loopback.
 */
import assert from "node:assert/strict";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it, type TestContext } from "node:test";
import { setImmediate as nextTurn } from "node:timers/promises";
import express from "express";
import type { ThrottleBackend } from "../../src/backends/base.js";
import { InMemoryBackend } from "../../src/backends/inmemory/index.js";
import { MemcachedBackend } from "../../src/backends/memcached/index.js";
import { RedisBackend } from "../../src/backends/redis/index.js";
import { HTTPThrottle, tryHitAll } from "../../src/index.js";
import { throttled } from "../../src/integrations/express/index.js";
import { LeakyBucketWithQueueStrategy } from "../../src/strategies/index.js";
import { MapBackend } from "../support/map-backend.js";
import {
  hasBinary,
  type MemcachedServer,
  type RedisServer,
  startMemcached,
  startRedis,
} from "../support/servers.js";

const HOUR = 3_600_000;
/** Every backend decides on this clock, standing still: each turn is exactly an hour. */
const NOW = Date.now();
const CLIENT = {};
/** A deadline only the freeze reaches: a loaded machine's slowest answer stays far below it. */
const UNHURRIED_MS = 10_000;

/** The lock path custom backends inherit, on a clock standing still. */
class StillMapBackend extends MapBackend {
  override now(): number {
    return NOW;
  }
}

/** Polls `check` (bounded) while the backend's I/O goes on; time is not what it waits for. */
async function eventually(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  assert.fail(what);
}

/** Until nothing the backend sent waits on its server: a give-back under way has landed. */
async function settled(backend: ThrottleBackend): Promise<void> {
  await nextTurn();
  await eventually(async () => backend.pendingCommands === 0, "the backend's calls settle");
  await nextTurn();
}

function releaseSuite(name: string, enabled: boolean, make: () => Promise<ThrottleBackend>) {
  describe(`${name}: an abandoned request's place in the queue`, { skip: !enabled }, () => {
    let backend: ThrottleBackend;
    let uids = 0;
    before(async () => {
      backend = await make();
    });
    after(() => backend.close());

    /** One unit an hour, three may queue: the n-th request waits n - 1 hours. */
    const queue = () =>
      new HTTPThrottle<unknown>({
        uid: `q${++uids}`,
        rate: "1/h",
        strategy: new LeakyBucketWithQueueStrategy({ queueSize: 3 }),
        backend,
        identifier: () => "client",
        onError: "raise",
      });
    const nextWaits = async (throttle: HTTPThrottle<unknown>) =>
      (await throttle.peek(CLIENT)).delayMs;
    const queuedUntil = (throttle: HTTPThrottle<unknown>, hours: number, what: string) =>
      eventually(async () => (await nextWaits(throttle)) === hours * HOUR, what);
    /** A call that waits for its turn, given up when the test ends whatever happens. */
    const waiting = (t: TestContext, call: (signal: AbortSignal) => Promise<unknown>) => {
      const controller = new AbortController();
      const outcome = call(controller.signal).then(
        () => "started",
        (error: unknown) => error,
      );
      t.after(() => controller.abort());
      return {
        abort: async () => {
          const reason = new Error("client went away");
          controller.abort(reason);
          assert.equal(await outcome, reason, "the wait ends with its client");
        },
      };
    };

    it("the last request queued gives its place to the next", async (t) => {
      const throttle = queue();
      await throttle.hit(CLIENT);
      assert.equal(await nextWaits(throttle), HOUR);
      const second = waiting(t, (signal) => throttle.hit(CLIENT, { signal }));
      await queuedUntil(throttle, 2, "the second request waits an hour");
      await second.abort();
      await queuedUntil(throttle, 1, "the next request waits an hour, as the aborted one did");
      waiting(t, (signal) => throttle.hit(CLIENT, { signal }));
      await queuedUntil(throttle, 2, "the next request took that place, and only it");
    });

    it("a request with one queued behind it gives nothing back: the spacing holds", async (t) => {
      const throttle = queue();
      await throttle.hit(CLIENT);
      const second = waiting(t, (signal) => throttle.hit(CLIENT, { signal }));
      await queuedUntil(throttle, 2, "the second request waits an hour");
      const third = waiting(t, (signal) => throttle.hit(CLIENT, { signal }));
      await queuedUntil(throttle, 3, "the third request waits two hours");
      await second.abort();
      await settled(backend);
      assert.equal(await nextWaits(throttle), 3 * HOUR, "the third keeps its start");
      await third.abort();
      await queuedUntil(throttle, 2, "the third, now last, gives its place back");
    });

    it("an abandoned group gives back the place it took in each throttle", async (t) => {
      const [first, second] = [queue(), queue()];
      await first.hit(CLIENT);
      const group = waiting(t, (signal) => tryHitAll([first, second], CLIENT, { signal }));
      await queuedUntil(first, 2, "the group waits an hour for the first throttle");
      await queuedUntil(second, 1, "the second throttle, fresh, took the group at once");
      await group.abort();
      await queuedUntil(first, 1, "the first throttle's place is given back");
      await queuedUntil(second, 0, "so is the second's, which had no wait of its own");
    });

    it("Express: a request aborted by its client gives its place back", async (t) => {
      const throttle = queue();
      const app = express();
      app.get("/", throttled(throttle), (_req, res) => {
        res.send("ok");
      });
      const server: Server = await new Promise((resolve) => {
        const listening = app.listen(0, "127.0.0.1", () => resolve(listening));
      });
      t.after(() => {
        server.closeAllConnections();
        return new Promise((done) => server.close(() => done(undefined)));
      });
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
      assert.equal((await fetch(url)).status, 200);
      const second = waiting(t, (signal) => fetch(url, { signal }));
      await queuedUntil(throttle, 2, "the second request waits an hour");
      await second.abort();
      await queuedUntil(throttle, 1, "the next request waits an hour, as the aborted one did");
    });
  });
}

releaseSuite("in memory", true, async () => new InMemoryBackend({ clock: () => NOW }));

releaseSuite("custom backend (the lock path)", true, async () => {
  return new StillMapBackend({ namespace: "release" });
});

let redis: RedisServer | undefined;
releaseSuite("Redis", hasBinary("redis-server"), async () => {
  redis = await startRedis();
  // No deadline here is under test: one far above a loaded machine's answer time.
  return new RedisBackend({
    connection: redis.url,
    namespace: "release",
    clock: () => NOW,
    timeoutMs: UNHURRIED_MS,
  });
});
after(() => redis?.stop());

let memcached: MemcachedServer | undefined;
releaseSuite("Memcached", hasBinary("memcached"), async () => {
  memcached = await startMemcached();
  return new MemcachedBackend({
    servers: [memcached.address],
    namespace: "release",
    clock: () => NOW,
    timeoutMs: UNHURRIED_MS,
  });
});
after(() => memcached?.stop());

describe("giving a place back is best effort: a failure is swallowed", () => {
  /** Records unhandled rejections while a test runs. */
  const unhandled = (t: TestContext) => {
    const seen: unknown[] = [];
    const listen = (reason: unknown) => seen.push(reason);
    process.on("unhandledRejection", listen);
    t.after(() => process.off("unhandledRejection", listen));
    return seen;
  };
  /** Admits one request, then one that waits an hour, and aborts that one. */
  async function abandonSecond(t: TestContext, throttle: HTTPThrottle<unknown>) {
    await throttle.hit(CLIENT);
    const controller = new AbortController();
    t.after(() => controller.abort());
    const second = throttle.hit(CLIENT, { signal: controller.signal });
    await eventually(
      async () => (await throttle.peek(CLIENT)).delayMs === 2 * HOUR,
      "the second request waits an hour",
    );
    return { abort: (reason: Error) => controller.abort(reason), second };
  }

  it("a strategy whose release throws: the abort still ends the wait", async (t) => {
    const seen = unhandled(t);
    const queue = new LeakyBucketWithQueueStrategy({ queueSize: 3 });
    const strategy = {
      name: "queue-failing-release",
      capacity: queue.capacity.bind(queue),
      apply: queue.apply.bind(queue),
      release: (): never => {
        throw new Error("release failed");
      },
    };
    const backend = new InMemoryBackend({ clock: () => NOW });
    t.after(() => backend.close());
    const throttle = new HTTPThrottle<unknown>({
      uid: "failing",
      rate: "1/h",
      strategy,
      backend,
      identifier: () => "client",
    });
    const { abort, second } = await abandonSecond(t, throttle);
    const reason = new Error("client went away");
    abort(reason);
    await assert.rejects(second, (error) => error === reason);
    await nextTurn();
    assert.deepEqual(seen, []);
    assert.equal((await throttle.peek(CLIENT)).delayMs, 2 * HOUR, "its place stays taken");
  });

  it("Redis frozen when the client goes: the give-back times out, unseen", {
    skip: !hasBinary("redis-server"),
  }, async (t) => {
    const seen = unhandled(t);
    const server = await startRedis();
    t.after(() => server.stop());
    const backend = new RedisBackend({
      connection: server.url,
      namespace: "frozen",
      clock: () => NOW,
      // Only the freeze times the give-back out; the calls before it must not, however loaded
      // the machine. `settled` polls at least 5 s, longer than this.
      timeoutMs: 2_000,
    });
    t.after(() => backend.close().catch(() => {}));
    const throttle = new HTTPThrottle<unknown>({
      uid: "frozen",
      rate: "1/h",
      strategy: new LeakyBucketWithQueueStrategy({ queueSize: 3 }),
      backend,
      identifier: () => "client",
    });
    const { abort, second } = await abandonSecond(t, throttle);
    await server.freeze();
    const reason = new Error("client went away");
    abort(reason);
    await assert.rejects(second, (error) => error === reason);
    await settled(backend);
    server.thaw();
    assert.deepEqual(seen, []);
  });
});
