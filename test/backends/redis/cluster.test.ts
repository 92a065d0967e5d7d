import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Redis } from "ioredis";
import type { RedisBackend } from "../../../src/backends/redis/index.js";
import { HTTPThrottle, tryHitAll } from "../../../src/index.js";
import { GCRAStrategy, SlidingWindowLogStrategy } from "../../../src/strategies/index.js";
import { clientKinds, clusterBackendOn } from "../../support/redis-clients.js";
import { hasBinary, type RedisCluster, startRedisCluster } from "../../support/servers.js";

const enabled = hasBinary("redis-server") && hasBinary("redis-cli");

describe("RedisBackend on a real 3-master Redis Cluster", { skip: !enabled }, () => {
  let cluster: RedisCluster;
  let masters: Redis[];

  before(async () => {
    cluster = await startRedisCluster();
    masters = cluster.nodes.map((node) => new Redis(node.port, node.host));
  });
  after(async () => {
    for (const master of masters) master.disconnect();
    await cluster.stop();
  });

  for (const kind of clientKinds)
    describe(`through ${kind.name}`, () => {
      let backend: RedisBackend;
      before(async () => {
        backend = clusterBackendOn(kind, cluster.nodes, { namespace: "cl" });
        await backend.initialize();
      });
      after(() => backend.close());

      it("spreads clients over the masters and decides each client's throttles in one slot, all or nothing", async () => {
        const perMinute = new HTTPThrottle<string>({
          uid: "m",
          rate: "3/h",
          backend,
          identifier: (id) => id,
        });
        const burst = new HTTPThrottle<string>({
          uid: "b",
          rate: "5/h",
          backend,
          identifier: (id) => id,
          strategy: new GCRAStrategy(),
        });
        const clients = Array.from({ length: 60 }, (_, i) => `client-${i}`);
        const admitted = await Promise.all(
          clients.map(async (id) => {
            const groups = await Promise.all(
              Array.from({ length: 6 }, () => tryHitAll([burst, perMinute], id)),
            );
            return groups.filter((g) => g.every((d) => d.allowed)).length;
          }),
        );
        assert.deepEqual(new Set(admitted), new Set([3]));
        const sizes = await Promise.all(masters.map((m) => m.dbsize()));
        assert.ok(
          sizes.every((size) => size > 0),
          `keys on every master: ${sizes}`,
        );
        const slots = await Promise.all(
          ["m", "b"].map((uid) => masters[0]?.cluster("KEYSLOT", `cl:{client-7}:${uid}`)),
        );
        assert.equal(slots[0], slots[1]);
      });

      it("keeps hostile identities in one slot per client", async () => {
        const a = new HTTPThrottle<string>({
          uid: "ha",
          rate: "1/h",
          backend,
          identifier: (id) => id,
        });
        const b = new HTTPThrottle<string>({
          uid: "hb",
          rate: "1/h",
          backend,
          identifier: (id) => id,
        });
        for (const identity of ["x}{y", "{x}", "}", "a:b{c}d", "sp ace\n"]) {
          const decisions = await tryHitAll([a, b], identity);
          assert.ok(decisions.every((d) => d.allowed && d.source === "backend"));
        }
      });

      it("recovers from NOSCRIPT on every node", async () => {
        const throttle = new HTTPThrottle<string>({
          uid: "ns",
          rate: "4/h",
          backend,
          identifier: (id) => id,
          strategy: new SlidingWindowLogStrategy(),
        });
        await Promise.all(Array.from({ length: 20 }, (_, i) => throttle.hit(`n-${i}`)));
        await Promise.all(masters.map((m) => m.script("FLUSH")));
        const decisions = await Promise.all(
          Array.from({ length: 20 }, (_, i) => throttle.hit(`n-${i}`)),
        );
        assert.ok(decisions.every((d) => d.remaining === 2 && d.source === "backend"));
      });

      it("clears the namespace on every master with SCAN", async () => {
        await backend.reset();
        const left = await Promise.all(masters.map((m) => m.keys("cl:*")));
        assert.deepEqual(left.flat(), []);
      });
    });
});
