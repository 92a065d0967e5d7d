/**
 * One process of the over-admission test: fires `concurrency` decisions at once for every
 * strategy against one shared key per strategy, and prints how many each admitted.
 * Usage: race-worker.ts <redis|memcached|custom> <redis URL or memcached host:port> <concurrency>
 * [Redis client library, as test/support/redis-clients.ts names it; ioredis by default]
 * (`custom`: a store with only the required methods, on a Redis URL.)
 */
import { Redis } from "ioredis";
import type { ThrottleBackend } from "../../src/backends/base.js";
import { MemcachedBackend } from "../../src/backends/memcached/index.js";
import { Rate } from "../../src/rate.js";
import { allStrategies } from "../strategies/harness.js";
import { backendOn, clientKind } from "../support/redis-clients.js";
import { RedisPrimitivesBackend } from "./custom/redis-primitives-backend.js";

const [kind, address = "", concurrency = "60", redisClient = "ioredis"] = process.argv.slice(2);
const client = kind === "custom" ? new Redis(address) : undefined;
const backend: ThrottleBackend =
  kind === "redis"
    ? backendOn(clientKind(redisClient), address, { namespace: "race" })
    : client !== undefined
      ? // Locks are taken one after another on a key 240 decisions want: no deadline is due
        // meanwhile. Persistent, so that the first process to finish clears nothing.
        new RedisPrimitivesBackend(client, {
          namespace: "race",
          persistent: true,
          timeoutMs: 60_000,
          lockTtlMs: 60_000,
        })
      : new MemcachedBackend({ servers: [address], namespace: "race" });
await backend.initialize();
const rate = Rate.parse("20/h");
const admitted: Record<string, number> = {};
await Promise.all(
  allStrategies().map(async (strategy, index) => {
    const request = { uid: `s${index}`, identity: "shared", strategy, rate, cost: 1 };
    const steps = await Promise.all(
      Array.from({ length: Number(concurrency) }, () => backend.decide(request, "consume")),
    );
    admitted[`s${index}`] = steps.filter((step) => step.allowed).length;
  }),
);
console.log(JSON.stringify(admitted));
await backend.close();
await client?.quit();
