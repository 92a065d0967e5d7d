/** Penalties, rewards and bans on a real redis-server: compare-and-set beside the scripts. */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Redis } from "ioredis";
import { RedisBackend } from "../../../src/backends/redis/index.js";
import { HTTPThrottle, Rate } from "../../../src/index.js";
import { hasBinary, type RedisServer, startRedis } from "../../support/servers.js";
import {
  adjustChecks,
  assertAdjustmentsAcrossFourProcesses,
  fromAddress,
} from "../shared-adjust-checks.js";

describe("penalty, reward and block on RedisBackend", { skip: !hasBinary("redis-server") }, () => {
  let server: RedisServer;
  let backend: RedisBackend;
  let admin: Redis;
  before(async () => {
    server = await startRedis();
    admin = new Redis(server.url);
    backend = new RedisBackend({ connection: server.url, namespace: "adjust-race" });
    await backend.initialize();
  });
  after(async () => {
    await backend?.close();
    admin?.disconnect();
    await server?.stop();
  });

  for (const [name, check] of adjustChecks) it(name, () => check(backend));

  it("loses nothing across four OS processes", async () => {
    await assertAdjustmentsAcrossFourProcesses("redis", server.url, backend);
  });

  it("a ban is one more key of the same decision script call, shared by another process's backend", async () => {
    const other = new RedisBackend({ connection: server.url, namespace: "adjust-race" });
    try {
      const options = { uid: "shared-ban", rate: Rate.parse("5/m"), blocking: true };
      const here = new HTTPThrottle({ ...options, backend });
      const there = new HTTPThrottle({ ...options, backend: other });
      const client = fromAddress("198.51.100.1");
      await other.initialize();
      // Warm: the library and the adjustment scripts are loaded once, by their first calls.
      await there.peek(fromAddress("198.51.100.9"));
      await here.block(fromAddress("198.51.100.9"), 1);
      await admin.config("RESETSTAT");
      await here.block(client, 30_000);
      const hit = await there.tryHit(client);
      assert.equal(hit.allowed, false);
      assert.ok(hit.retryAfterMs > 25_000 && hit.retryAfterMs <= 30_000);
      const info = await admin.info("commandstats");
      // The ban's two calls (read, compare-and-set), then one decision call: no more.
      const calls = [...info.matchAll(/cmdstat_(\w+):calls=(\d+)/g)]
        .filter(([, name]) => name === "evalsha" || name === "eval" || name === "fcall")
        .reduce((sum, [, , n]) => sum + Number(n), 0);
      assert.equal(calls, 3, info);
    } finally {
      await other.close();
    }
  });

  it("a reward forgets this process's block of the client at once", async () => {
    const throttle = new HTTPThrottle({ uid: "forget-block", rate: "2/h", backend });
    const client = fromAddress("198.51.100.2");
    await throttle.tryHit(client);
    await throttle.tryHit(client);
    assert.equal((await throttle.tryHit(client)).allowed, false);
    await throttle.reward(client, 1);
    assert.equal((await throttle.tryHit(client)).allowed, true);
  });
});
