import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Cluster, Redis } from "ioredis";
import * as redis6 from "redis";
import * as redis4 from "redis4";
import * as redis5 from "redis5";
import { RedisBackend } from "../../../src/backends/redis/index.js";
import { BackendConfigurationError, ConfigurationError } from "../../../src/errors.js";
import { clientKinds } from "../../support/redis-clients.js";
import { hasBinary, type RedisServer, startRedis } from "../../support/servers.js";

const enabled = hasBinary("redis-server");

/** Asserts that `connection` is refused, and that the message says what it was and lacks. */
function assertRefused(connection: unknown, what: RegExp, lacks: RegExp): void {
  assert.throws(
    () => new RedisBackend({ connection: connection as never, namespace: "kind" }),
    (error: Error) => {
      assert.ok(error instanceof BackendConfigurationError, String(error));
      assert.ok(error instanceof ConfigurationError);
      assert.match(error.message, what);
      assert.match(error.message, lacks);
      return true;
    },
  );
}

describe("RedisBackend tells its client library by what the client can do", () => {
  it("takes ioredis's Redis and Cluster, and node-redis 4, 5, 6 clients and clusters", async () => {
    // Not connected: the constructor only looks. The types compile for every one of them.
    const clients = [
      new Redis({ lazyConnect: true }),
      new Cluster([{ host: "127.0.0.1", port: 1 }], { lazyConnect: true }),
      redis6.createClient({ url: "redis://127.0.0.1:1" }),
      redis6.createCluster({ rootNodes: [{ url: "redis://127.0.0.1:1" }] }),
      redis5.createClient({ url: "redis://127.0.0.1:1" }),
      redis5.createCluster({ rootNodes: [{ url: "redis://127.0.0.1:1" }] }),
      redis4.createClient({ url: "redis://127.0.0.1:1" }),
      redis4.createCluster({ rootNodes: [{ url: "redis://127.0.0.1:1" }] }),
    ];
    for (const connection of clients) {
      const backend = new RedisBackend({ connection, namespace: "kind" });
      assert.equal(backend.redis, undefined, "not initialized");
    }
    for (const client of clients.slice(0, 2)) (client as Redis).disconnect();
  });

  it("refuses anything else, naming what it was and what it lacks", async () => {
    // A node-redis look-alike with camel-case commands but no connect(), on() or off().
    const halfNodeRedis = { evalSha: async () => 0, sendCommand: async () => 0, isOpen: true };
    assertRefused(
      halfNodeRedis,
      /a plain object/,
      /node-redis one lacks connect\(\), on\(\), off\(\)/,
    );
    class FakeRedis {
      status = "ready";
    }
    assertRefused(new FakeRedis(), /an instance of FakeRedis/, /ioredis client lacks call\(\)/);
    assertRefused(42, /a number/, /sendCommand\(\)/);
    // A node-redis client whose isOpen is not a boolean: not one.
    const odd = { sendCommand() {}, connect() {}, on() {}, off() {}, isOpen: "yes" };
    assertRefused(odd, /a plain object/, /isOpen \(a boolean\)/);
    const later = new RedisBackend({ connection: () => halfNodeRedis as never, namespace: "kind" });
    await assert.rejects(later.initialize(), BackendConfigurationError);
  });
});

for (const kind of clientKinds) {
  describe(`RedisBackend on a client given as a function, through ${kind.name}`, {
    skip: !enabled,
  }, () => {
    it("connects the client the function returns, and names its server in messages", async (t) => {
      const server: RedisServer = await startRedis();
      const client = kind.client(server.url);
      const backend = new RedisBackend({ connection: async () => client, namespace: "fn" });
      t.after(async () => {
        await backend.close();
        await kind.close(client);
        await server.stop();
      });
      await backend.initialize();
      assert.equal(backend.redis, client);
      await backend.set("k", "v");
      assert.equal(await backend.get("k"), "v");
      await server.kill();
      // Refused at once (no offline queue), by a message naming the server.
      await assert.rejects(backend.get("k"), (error: Error) => {
        assert.match(error.message, new RegExp(`127\\.0\\.0\\.1:${server.port}`));
        return true;
      });
    });
  });
}
