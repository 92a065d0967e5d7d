/**
 * One process of the adjustment race: for each strategy of `raceStrategies`, fires `hits`
 * requests, `penalties` penalties of 1 and `rewards` rewards of 1 at once, all at one shared
 * client, and prints how many requests each admitted.
 * Usage: adjust-race-worker.ts <redis|memcached|custom|postgres|sqlite> <address> <hits>
 *   <penalties> <rewards> <uid prefix>
 */
import { Redis } from "ioredis";
import type { ThrottleBackend } from "../../src/backends/base.js";
import { MemcachedBackend } from "../../src/backends/memcached/index.js";
import { PostgresBackend } from "../../src/backends/postgres/index.js";
import { RedisBackend } from "../../src/backends/redis/index.js";
import { SQLiteBackend } from "../../src/backends/sqlite/index.js";
import { HTTPThrottle } from "../../src/index.js";
import { RedisPrimitivesBackend } from "./custom/redis-primitives-backend.js";
import { raceStrategies } from "./shared-adjust-checks.js";

const [kind = "", address = "", hits = "0", penalties = "0", rewards = "0", prefix = "r"] =
  process.argv.slice(2);
const client = kind === "custom" ? new Redis(address) : undefined;
// Persistent: the first process to finish clears nothing.
const common = { namespace: "adjust-race", persistent: true, timeoutMs: 60_000 };
const backend: ThrottleBackend =
  kind === "redis"
    ? new RedisBackend({ connection: address, ...common })
    : kind === "memcached"
      ? new MemcachedBackend({ servers: [address], ...common, casRetries: 1000 })
      : kind === "postgres"
        ? new PostgresBackend({ connection: address, ...common, poolSize: 8 })
        : kind === "sqlite"
          ? new SQLiteBackend({ path: address, ...common })
          : new RedisPrimitivesBackend(client as Redis, { ...common, lockTtlMs: 60_000 });
await backend.initialize();
const admitted: Record<string, number> = {};
const shared = { identity: "shared" };
await Promise.all(
  raceStrategies().map(async ([name, strategy, rate]) => {
    const throttle = new HTTPThrottle({
      uid: `${prefix}-${name}`,
      rate,
      strategy,
      backend,
      identifier: () => "shared",
    });
    const calls: Promise<unknown>[] = [];
    let count = 0;
    for (let i = 0; i < Number(hits); i++) {
      calls.push(throttle.tryHit({}).then((d) => (count += d.allowed ? 1 : 0)));
    }
    for (let i = 0; i < Number(penalties); i++) calls.push(throttle.penalty(shared, 1));
    for (let i = 0; i < Number(rewards); i++) calls.push(throttle.reward(shared, 1));
    await Promise.all(calls);
    admitted[name] = count;
  }),
);
console.log(JSON.stringify(admitted));
await backend.close();
await client?.quit();
// A deadline's timer (60 s here) may still be pending though every call has settled.
process.exit(0);
