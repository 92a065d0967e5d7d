/**
 * Decisions on each backend's own production clock (epoch milliseconds: the Redis server's
 * TIME, the wall clock in memory and for Memcached), with no test clock: a fresh client whose
 * cost is the whole capacity is admitted, for rates whose emission interval is far from a
 * whole millisecond. At such clock values, floating-point time arithmetic once rejected it.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { ThrottleBackend } from "../../src/backends/base.js";
import { InMemoryBackend } from "../../src/backends/inmemory/index.js";
import { MemcachedBackend } from "../../src/backends/memcached/index.js";
import { RedisBackend } from "../../src/backends/redis/index.js";
import { Rate } from "../../src/rate.js";
import { GCRAStrategy, TokenBucketStrategy } from "../../src/strategies/index.js";
import type { Strategy } from "../../src/strategies/strategy.js";
import { allStrategies } from "../strategies/harness.js";
import { hasBinary, startMemcached, startRedis } from "../support/servers.js";
import { decideVia, type Via } from "./shared-checks.js";

/** Rates with burst 1 that a float GCRA locked out at epoch clocks, and a spread of others. */
const RATES = ["6/s", "7/s", "7/10s", "3/s", "11/7s", "13/m", "1000/500ms", "9/h"].map((r) =>
  Rate.parse(r),
);
const STRATEGIES: Strategy[] = [
  ...allStrategies(),
  new GCRAStrategy({ burst: 1 }),
  new TokenBucketStrategy({ burstSize: 1 }),
];

let clients = 0;

async function assertFreshClientsAdmitted(backend: ThrottleBackend, via: Via): Promise<void> {
  for (const strategy of STRATEGIES) {
    for (const rate of RATES) {
      const cost = strategy.capacity(rate);
      const request = { uid: "c", identity: `fresh-${clients++}`, strategy, rate, cost };
      const step = await decideVia(via, backend, request, "consume");
      assert.equal(step.allowed, true, `${strategy.name} at ${rate}, cost ${cost}, ${via}`);
      assert.ok(Number.isInteger(step.resetAfterMs), `${step.resetAfterMs}`);
    }
  }
}

describe("a fresh client at its full capacity, on each backend's production clock", () => {
  it("in memory", async () => {
    const backend = new InMemoryBackend({ namespace: "real-clock" });
    try {
      await assertFreshClientsAdmitted(backend, "alone");
      await assertFreshClientsAdmitted(backend, "group");
    } finally {
      await backend.close();
    }
  });

  describe("on Redis (the server's TIME)", { skip: !hasBinary("redis-server") }, () => {
    let stop: () => Promise<void> = async () => {};
    let backend: RedisBackend;
    before(async () => {
      const server = await startRedis();
      stop = () => server.stop();
      backend = new RedisBackend({ connection: server.url, namespace: "rc", blockCache: false });
      await backend.initialize();
    });
    after(async () => {
      await backend?.close();
      await stop();
    });
    for (const via of ["alone", "group", "batch"] as const) {
      it(via, () => assertFreshClientsAdmitted(backend, via));
    }
  });

  describe("on Memcached (the wall clock)", { skip: !hasBinary("memcached") }, () => {
    let stop: () => Promise<void> = async () => {};
    let backend: MemcachedBackend;
    before(async () => {
      const server = await startMemcached();
      stop = () => server.stop();
      backend = new MemcachedBackend({ servers: [server.address], namespace: "rc" });
      await backend.initialize();
    });
    after(async () => {
      await backend?.close();
      await stop();
    });
    it("alone and in groups", async () => {
      await assertFreshClientsAdmitted(backend, "alone");
      await assertFreshClientsAdmitted(backend, "group");
    });
  });
});
