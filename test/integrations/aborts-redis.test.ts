/**
 * On a real redis-server, whose replies are shaped on their way back: a wait for a turn given
 * up by its client is no backend failure. It must not reach `onError` (whose default, "allow",
 * would admit the request at once), and it leaves no timer.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { RedisBackend } from "../../src/backends/redis/index.js";
import { HTTPThrottle, tryHitAll } from "../../src/index.js";
import { LeakyBucketWithQueueStrategy } from "../../src/strategies/index.js";
import { hasBinary, type RedisServer, startRedis } from "../support/servers.js";
import { pendingWaits, until } from "./turn-support.js";

const enabled = hasBinary("redis-server");

describe("on Redis: a wait for a turn given up by its client", { skip: !enabled }, () => {
  let server: RedisServer;
  let backend: RedisBackend;
  before(async () => {
    server = await startRedis();
    // A deadline far beyond a loaded machine's stalls: onError's "allow" must never answer here.
    backend = new RedisBackend({ connection: server.url, namespace: "aborts", timeoutMs: 20_000 });
  });
  after(async () => {
    await backend.close();
    await server.stop();
  });

  const throttle = (uid: string) =>
    new HTTPThrottle<string>({
      uid,
      // One unit an hour, a queue of one: the second request waits an hour for its turn.
      rate: "1/h",
      strategy: new LeakyBucketWithQueueStrategy({ queueSize: 1 }),
      backend,
      identifier: (client) => client,
      onError: "allow",
    });
  const calls = {
    "hit()": () => {
      const one = throttle("one");
      return (signal: AbortSignal) => one.hit("client", { signal });
    },
    "tryHitAll()": () => {
      const pair = [throttle("pair-a"), throttle("pair-b")];
      return (signal: AbortSignal) => tryHitAll(pair, "client", { signal });
    },
  };

  for (const [name, make] of Object.entries(calls)) {
    it(`${name}: rejects with the signal's reason, not onError's "allow"`, async () => {
      const call = make();
      await until(() => pendingWaits.size === 0, "nothing waits before the test");
      await call(new AbortController().signal);
      const controller = new AbortController();
      const waiting = call(controller.signal);
      await until(() => pendingWaits.size === 1, "the second call waits for its turn");
      const reason = new Error("client went away");
      controller.abort(reason);
      await assert.rejects(waiting, (error) => error === reason);
      await until(() => pendingWaits.size === 0, "no timer is left");
    });
  }
});
