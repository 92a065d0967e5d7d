import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { HTTPThrottle } from "../../../src/index.js";
import { backendOn, clientKinds } from "../../support/redis-clients.js";
import { hasBinary, startRedis } from "../../support/servers.js";

for (const kind of clientKinds)
  describe(`RedisBackend when redis-server restarts empty, through ${kind.name}`, {
    skip: !hasBinary("redis-server"),
  }, () => {
    it("forgets the clients it blocked in-process: Redis, empty, admits them again", async (t) => {
      const server = await startRedis();
      const backend = backendOn(kind, server.url, { namespace: "rs" });
      t.after(async () => {
        await backend.close().catch(() => {});
        await server.stop();
      });
      await backend.initialize();
      const throttle = new HTTPThrottle<string>({
        uid: "r",
        rate: "1/h",
        backend,
        identifier: (id) => id,
      });
      assert.equal((await throttle.tryHit("c")).allowed, true);
      assert.equal(
        (await throttle.tryHit("c")).allowed,
        false,
        "blocked, in-process, for the hour",
      );
      await server.kill();
      await server.start();
      // Counted in polls, not measured: once the client is back on the new, empty server, Redis
      // admits the client, and so must the backend.
      let decision = await throttle.tryHit("probe");
      for (let polls = 0; decision.source !== "backend"; polls++) {
        assert.ok(polls < 60, "back on redis within 60 polls, 50 ms apart");
        await sleep(50);
        decision = await throttle.tryHit("probe");
      }
      const after = await throttle.tryHit("c");
      assert.deepEqual([after.source, after.allowed], ["backend", true]);
    });
  });
