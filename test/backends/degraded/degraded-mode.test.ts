import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { ThrottleBackend } from "../../../src/backends/base.js";
import { MemcachedBackend } from "../../../src/backends/memcached/index.js";
import { RedisBackend } from "../../../src/backends/redis/index.js";
import { HTTPThrottle, tryHitAll } from "../../../src/index.js";
import { outageWarnings } from "../../support/failover-traffic.js";
import { hasBinary, startMemcached, startRedis } from "../../support/servers.js";

interface Server {
  kill(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

const LIMIT = 5;

/**
 * With default options: a client admitted twice by the server, the server killed, the client
 * flooding; then the server started again (empty) and polled. `downAtStart`: the server is
 * down before the backend's first request, which must then fail to initialize.
 */
async function outageAndBack(
  server: Server,
  backend: ThrottleBackend,
  downAtStart = false,
): Promise<void> {
  const onErrorCalls: unknown[] = [];
  const throttle = (uid: string) =>
    new HTTPThrottle<string>({
      uid,
      rate: `${LIMIT}/h`,
      backend,
      identifier: (id) => id,
      onError: (error) => {
        onErrorCalls.push(error);
        return "throttle";
      },
    });
  const one = throttle("one");
  const other = throttle("other");
  const watching = outageWarnings();
  try {
    if (!downAtStart) {
      for (let i = 0; i < 2; i++) assert.equal((await one.tryHit("c")).source, "backend");
    }
    await server.kill();
    // A burst first: every request of it meets the same failure to start, or the same outage.
    const during = await Promise.all([one.tryHit("c"), one.tryHit("c"), one.tryHit("c")]);
    for (let i = 3; i < 3 * LIMIT; i++) during.push(await one.tryHit("c"));
    assert.deepEqual(new Set(during.map((d) => d.source)), new Set(["degraded"]));
    // In-process, the client gets its limit again: no more, no less.
    assert.equal(during.filter((d) => d.allowed).length, LIMIT);
    const group = await tryHitAll([one, other], "d");
    assert.deepEqual(
      group.map((d) => `${d.source}:${d.allowed}`),
      ["degraded:true", "degraded:true"],
    );
    await server.start();
    // Counted in polls, not measured: a stall delays reconnection and the polls alike.
    let source = "degraded";
    for (let polls = 0; source !== "backend"; polls++) {
      assert.ok(polls < 60, "back on the server within 60 polls, 50 ms apart");
      await sleep(50);
      source = (await one.tryHit("e")).source;
    }
    assert.deepEqual(onErrorCalls, [], "onError is not asked while degraded mode decides");
    await sleep(0);
    assert.deepEqual(
      watching.warnings.map((w) => (w as { code?: string }).code),
      ["TRAFFIK_BACKEND_OUTAGE", "TRAFFIK_BACKEND_RECOVERED"],
    );
  } finally {
    watching.stop();
  }
}

/** A server of one kind and a backend on it, both closed when the test ends. */
type Open = (namespace: string) => Promise<{ server: Server; backend: ThrottleBackend }>;

const onRedis: Open = async (namespace) => {
  const server = await startRedis();
  return { server, backend: new RedisBackend({ connection: server.url, namespace }) };
};

const onMemcached: Open = async (namespace) => {
  const server = await startMemcached();
  return { server, backend: new MemcachedBackend({ servers: [server.address], namespace }) };
};

/** {@link outageAndBack} on a backend `open` makes, initialized first unless `downAtStart`. */
async function outageOn(
  t: TestContext,
  open: Open,
  namespace: string,
  downAtStart = false,
): Promise<void> {
  const { server, backend } = await open(namespace);
  t.after(async () => {
    await backend.close().catch(() => {});
    await server.stop();
  });
  if (!downAtStart) await backend.initialize();
  await outageAndBack(server, backend, downAtStart);
}

describe("Degraded mode (the default of networked backends)", () => {
  it(
    "on Redis: decides in-process while the server is down, within each limit, and hands back",
    {
      skip: !hasBinary("redis-server"),
    },
    (t) => outageOn(t, onRedis, "dg"),
  );

  it(
    "on Memcached: decides in-process while the server is down, within each limit, and hands back",
    {
      skip: !hasBinary("memcached"),
    },
    (t) => outageOn(t, onMemcached, "dg"),
  );

  it(
    "on Redis down at startup: decides in-process from the first request, and hands over once it starts",
    {
      skip: !hasBinary("redis-server"),
    },
    (t) => outageOn(t, onRedis, "dg-start", true),
  );

  it(
    "on Memcached down at startup: decides in-process from the first request, and hands over once it starts",
    {
      skip: !hasBinary("memcached"),
    },
    (t) => outageOn(t, onMemcached, "dg-start", true),
  );
});
