import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Redis } from "ioredis";
import { HTTPThrottle } from "../../../src/index.js";
import { backendOn, clientKinds } from "../../support/redis-clients.js";
import { hasBinary, type RedisServer, startRedis } from "../../support/servers.js";

const enabled = hasBinary("redis-server");
const req = () => ({ socket: { remoteAddress: "192.0.2.1" }, headers: {} });

/** Calls of FCALL, EVALSHA and EVAL since the last `CONFIG RESETSTAT`. */
async function scriptCalls(
  redis: Redis,
): Promise<{ fcall: number; evalsha: number; eval: number }> {
  const info = await redis.info("commandstats");
  const calls = (name: string) =>
    Number(new RegExp(`cmdstat_${name}:calls=(\\d+)`).exec(info)?.[1] ?? 0);
  return { fcall: calls("fcall"), evalsha: calls("evalsha"), eval: calls("eval") };
}

/** The Traffik libraries the server holds. */
async function libraries(redis: Redis): Promise<number> {
  const list = (await redis.call("FUNCTION", "LIST")) as unknown[][];
  return list.filter((library) => String(library[1]).startsWith("traffik_")).length;
}

for (const kind of clientKinds)
  describe(`RedisBackend decides by a Redis Function where it may, through ${kind.name}`, {
    skip: !enabled,
  }, () => {
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

    /** A throttle of 5 an hour on a backend of its own, closed when the test ends. */
    function throttleOn(t: { after: (fn: () => unknown) => void }, url: string, namespace: string) {
      const backend = backendOn(kind, url, { namespace, blockCache: false });
      t.after(() => backend.close());
      return new HTTPThrottle({ uid: "f", rate: "5/h", backend });
    }

    it("loads the decision library once per server and decides by FCALL", async (t) => {
      await admin.call("FUNCTION", "FLUSH");
      const first = throttleOn(t, server.url, "once-a");
      const second = throttleOn(t, server.url, "once-b");
      await first.hit(req());
      await second.hit(req()); // its load finds the library there already
      assert.equal(await libraries(admin), 1);
      await admin.config("RESETSTAT");
      assert.equal((await first.hit(req())).remaining, 3);
      assert.equal((await second.hit(req())).remaining, 3);
      assert.deepEqual(await scriptCalls(admin), { fcall: 2, evalsha: 0, eval: 0 });
    });

    it("survives FUNCTION FLUSH: answers by EVAL, loads the library again, then FCALLs", async (t) => {
      const throttle = throttleOn(t, server.url, "flushed");
      await throttle.hit(req());
      await admin.call("FUNCTION", "FLUSH");
      assert.equal((await throttle.hit(req())).remaining, 3);
      assert.equal(await libraries(admin), 1);
      await admin.config("RESETSTAT");
      assert.equal((await throttle.hit(req())).remaining, 2);
      assert.deepEqual(await scriptCalls(admin), { fcall: 1, evalsha: 0, eval: 0 });
    });

    it("peeks by FCALL_RO, which the server runs even when it is out of memory", async (t) => {
      const throttle = throttleOn(t, server.url, "oom");
      await throttle.hit(req());
      await admin.config("SET", "maxmemory", "1"); // every write refused: out of memory
      t.after(() => admin.config("SET", "maxmemory", "0"));
      await admin.config("RESETSTAT");
      assert.equal((await throttle.peek(req())).remaining, 3);
      const info = await admin.info("commandstats");
      assert.match(info, /cmdstat_fcall_ro:calls=1,/);
    });

    it("decides by EVALSHA where the ACL refuses Functions, and survives NOSCRIPT there", async (t) => {
      await admin.call("ACL", "SETUSER", "nofunctions", "on", ">pw", "~*", "+@all", "-function");
      const url = server.url.replace("redis://", "redis://nofunctions:pw@");
      const throttle = throttleOn(t, url, "refused");
      await throttle.hit(req());
      await admin.config("RESETSTAT");
      assert.equal((await throttle.hit(req())).remaining, 3);
      assert.deepEqual(await scriptCalls(admin), { fcall: 0, evalsha: 1, eval: 0 });
      await admin.script("FLUSH");
      assert.equal((await throttle.hit(req())).remaining, 2);
    });

    it("decides by EVALSHA on a server without Functions, as before Redis 7", async (t) => {
      const old = await startRedis(["--rename-command", "FUNCTION", ""]);
      t.after(() => old.stop());
      const oldAdmin = new Redis(old.url);
      t.after(() => oldAdmin.disconnect());
      const throttle = throttleOn(t, old.url, "old");
      await throttle.hit(req());
      await oldAdmin.config("RESETSTAT");
      assert.equal((await throttle.hit(req())).remaining, 3);
      assert.deepEqual(await scriptCalls(oldAdmin), { fcall: 0, evalsha: 1, eval: 0 });
    });

    it("keeps requests' arguments read from one call to the next, bounded, deciding each aright", async (t) => {
      const backend = backendOn(kind, server.url, { namespace: "read", blockCache: false });
      t.after(() => backend.close());
      // 300 distinct arguments (one rate each) pass the 256 kept: the table empties and refills.
      const throttles = Array.from(
        { length: 300 },
        (_, i) => new HTTPThrottle({ uid: `r${i}`, rate: `${i + 2}/h`, backend }),
      );
      for (const [i, throttle] of throttles.entries()) {
        assert.equal((await throttle.hit(req())).remaining, i + 1);
      }
      for (const [i, throttle] of throttles.entries()) {
        assert.equal((await throttle.hit(req())).remaining, i, `rate ${i + 2}/h, again`);
      }
    });
  });
