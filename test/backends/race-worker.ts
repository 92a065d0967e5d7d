/**
 * One process of the four-process exactness check (`assertNoOverAdmission` in
 * shared-checks.ts): opens a backend of `kind` on `address`, prints "ready", waits for "go"
 * on stdin (so that the four race from the same moment), then fires `rounds` decisions at
 * once for every strategy, each on one key shared by every process, and prints how many each
 * admitted.
 * Usage: race-worker.ts <kind> <address> <rounds> [Redis client library, as
 * test/support/redis-clients.ts names it; ioredis by default], where kind and address are one of
 *   redis     a Redis URL
 *   memcached a memcached host:port
 *   custom    a Redis URL (a store with only the five required methods, over GET/SET/DEL)
 *   postgres  a postgres:// URL
 *   sqlite    a database file
 */
import { once } from "node:events";
import type { ThrottleBackend } from "../../src/backends/base.js";
import { Rate } from "../../src/rate.js";
import { allStrategies } from "../strategies/harness.js";

const [kind = "", address = "", rounds = "60", redisClient = "ioredis"] = process.argv.slice(2);

/** A backend to race on, and what else to close after it. */
type Opened = [backend: ThrottleBackend, close?: () => Promise<unknown>];

/**
 * The backends the check runs on, by kind: each opened as its own tests open it, with a deadline
 * no stall of a loaded machine reaches (this check counts, it does not time). Imported on
 * demand: the Redis client libraries alone took 2.5 s of CPU to load, four processes at once.
 */
const backends: Record<string, (address: string) => Promise<Opened>> = {
  redis: async (url) => {
    const { backendOn, clientKind } = await import("../support/redis-clients.js");
    return [backendOn(clientKind(redisClient), url, { namespace: "race", timeoutMs: 60_000 })];
  },
  memcached: async (address) => {
    const { MemcachedBackend } = await import("../../src/backends/memcached/index.js");
    return [new MemcachedBackend({ servers: [address], namespace: "race", timeoutMs: 60_000 })];
  },
  custom: async (url) => {
    const { Redis } = await import("ioredis");
    const { RedisPrimitivesBackend } = await import("./custom/redis-primitives-backend.js");
    const client = new Redis(url);
    // Locks are taken one after another on a key every decision wants: no deadline is due
    // meanwhile. Persistent, so that the first process to finish clears nothing.
    const options = { namespace: "race", persistent: true, timeoutMs: 60_000, lockTtlMs: 60_000 };
    return [new RedisPrimitivesBackend(client, options), () => client.quit()];
  },
  postgres: async (url) => {
    const { PostgresBackend } = await import("../../src/backends/postgres/index.js");
    return [
      new PostgresBackend({ connection: url, namespace: "race", poolSize: 8, timeoutMs: 60_000 }),
    ];
  },
  sqlite: async (path) => {
    const { SQLiteBackend } = await import("../../src/backends/sqlite/index.js");
    return [new SQLiteBackend({ path, namespace: "race", timeoutMs: 60_000 })];
  },
};

const open = backends[kind];
if (open === undefined) throw new Error(`race-worker: unknown backend kind ${kind}`);
const [backend, closeAlso] = await open(address);
await backend.initialize();
process.stdout.write("ready\n");
process.stdin.setEncoding("utf8");
await once(process.stdin, "data");
const rate = Rate.parse("20/h");
const admitted: Record<string, number> = {};
await Promise.all(
  allStrategies().map(async (strategy, index) => {
    const request = { uid: `s${index}`, identity: "shared", strategy, rate, cost: 1 };
    const steps = await Promise.all(
      Array.from({ length: Number(rounds) }, () => backend.decide(request, "consume")),
    );
    admitted[`s${index}`] = steps.filter((step) => step.allowed).length;
  }),
);
process.stdout.write(`${JSON.stringify(admitted)}\n`);
process.stdin.destroy();
await backend.close();
await closeAlso?.();
