/**
 * One process of the one-key flood: fires `requests` hits, spread evenly over `spreadMs` in
 * waves every 20 ms, at one client of one throttle
 * with default backend options and `onError: "allow"` (the worst case), and prints how many were
 * admitted and how many of those `onError` decided.
 * Usage: flood-worker.ts <redis|memcached> <address> <requests> <spreadMs> <swl|gcra> <start at, ms>
 * (every process starts firing at the same moment, so their floods overlap).
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { ThrottleBackend } from "../../src/backends/base.js";
import { MemcachedBackend } from "../../src/backends/memcached/index.js";
import { RedisBackend } from "../../src/backends/redis/index.js";
import { GCRAStrategy, SlidingWindowLogStrategy } from "../../src/strategies/index.js";
import type { Decision } from "../../src/throttles/decision.js";
import { HTTPThrottle } from "../../src/throttles/http.js";

const [kind, address = "", requests = "400", spreadMs = "0", strategyName = "swl", startAt = "0"] =
  process.argv.slice(2);
const backend: ThrottleBackend =
  kind === "redis"
    ? new RedisBackend({ connection: address, namespace: "flood" })
    : new MemcachedBackend({ servers: [address], namespace: "flood" });
const throttle = new HTTPThrottle({
  uid: "flood",
  rate: "100/h",
  backend,
  onError: "allow",
  strategy: strategyName === "gcra" ? new GCRAStrategy() : new SlidingWindowLogStrategy(),
});
await backend.initialize();
await sleep(Math.max(0, Number(startAt) - Date.now()));
const connection = { ip: "192.0.2.77" };
const waves = Math.max(1, Math.round(Number(spreadMs) / 20));
const perWave = Math.ceil(Number(requests) / waves);
const pending: Promise<Decision>[] = [];
for (let wave = 0; wave < waves; wave++) {
  for (let i = 0; i < perWave; i++) pending.push(throttle.tryHit(connection));
  if (wave < waves - 1) await sleep(20);
}
const decisions = await Promise.all(pending);
const admitted = decisions.filter((decision) => decision.allowed);
console.log(
  JSON.stringify({
    admitted: admitted.length,
    byOnError: admitted.filter((decision) => decision.source === "error").length,
  }),
);
await backend.close();
