/** Penalties, rewards and bans on the in-memory backend and on a store of the required methods. */
import { after, before, describe, it } from "node:test";
import { Redis } from "ioredis";
import { InMemoryBackend } from "../../src/backends/inmemory/index.js";
import { hasBinary, type RedisServer, startRedis } from "../support/servers.js";
import { RedisPrimitivesBackend } from "./custom/redis-primitives-backend.js";
import { adjustChecks, assertAdjustmentsAcrossFourProcesses } from "./shared-adjust-checks.js";

describe("penalty, reward and block on InMemoryBackend", () => {
  const backend = new InMemoryBackend({ namespace: "adjust" });
  after(() => backend.close());
  for (const [name, check] of adjustChecks) it(name, () => check(backend));
});

describe("penalty, reward and block on a store of the five required methods", {
  skip: !hasBinary("redis-server"),
}, () => {
  let server: RedisServer;
  let client: Redis;
  let backend: RedisPrimitivesBackend;
  before(async () => {
    server = await startRedis();
    client = new Redis(server.url);
    backend = new RedisPrimitivesBackend(client, {
      namespace: "adjust-race",
      persistent: true,
      // Seventy calls queue for one key's lock; a deadline's timer outlives them by as much.
      timeoutMs: 5_000,
    });
  });
  after(async () => {
    await backend?.close();
    await client?.quit();
    await server?.stop();
  });
  it("every check, under locks", async () => {
    for (const [, check] of adjustChecks) await check(backend);
  });
  it("loses nothing across four OS processes", async () => {
    await assertAdjustmentsAcrossFourProcesses("custom", server.url, backend);
  });
});
