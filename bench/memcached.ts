/**
 * Memcached decisions per second, 1 and 64 in flight, memcached commands per decision, and
 * CPU per decision (this process's and memcached's, at 1|64 in flight): Traffik's
 * MemcachedBackend, every strategy, beside rate-limiter-flexible's RateLimiterMemcache, on one
 * memcached started here, in one run (alternating rounds, median reported). Traffik's steady
 * decision is a `cas` with a `gets` behind it in one write: two commands, one round trip.
 *
 *   npm run bench:memcached            (BENCH_DECISIONS, BENCH_ROUNDS)
 */
import Memcached from "memcached";
import { RateLimiterMemcache } from "rate-limiter-flexible";
import { HTTPThrottle } from "traffik";
import { MemcachedBackend } from "traffik/backends/memcached";
import {
  FixedWindowStrategy,
  GCRAStrategy,
  LeakyBucketStrategy,
  LeakyBucketWithQueueStrategy,
  SlidingWindowCounterStrategy,
  SlidingWindowLogStrategy,
  type Strategy,
  TokenBucketStrategy,
  TokenBucketWithDebtStrategy,
} from "traffik/strategies";
import { memcachedStats, startMemcached } from "../test/support/servers.js";
import { compareStores, type StoreContender, type StoreRun } from "./support.js";

const KEYS = 10_000;
const DECISIONS = Number(process.env.BENCH_DECISIONS ?? 20_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const LIMIT = 1_000_000_000;

const server = await startMemcached();
const addresses = Array.from({ length: KEYS }, (_, i) => `10.0.${(i >> 8) & 255}.${i & 255}`);

type Decide = (i: number) => Promise<unknown>;

/** The commands memcached has run so far: every get key, store, counter, delete and touch. */
async function commands(): Promise<number> {
  const s = await memcachedStats(server.port);
  const names = ["cmd_get", "cmd_set", "cmd_touch", "incr_hits", "incr_misses", "decr_hits"];
  return [...names, "decr_misses", "delete_hits", "delete_misses"].reduce(
    (sum, name) => sum + (s[name] ?? 0),
    0,
  );
}

/** memcached's CPU so far, µs. */
async function serverCpuUs(): Promise<number> {
  const s = await memcachedStats(server.port);
  return ((s.rusage_user ?? 0) + (s.rusage_system ?? 0)) * 1e6;
}

async function measure(decide: Decide, inFlight: number): Promise<StoreRun> {
  let next = 0;
  const worker = async (count: number) => {
    for (let n = 0; n < count; n++) await decide(next++ % KEYS);
  };
  // Warm up over every key, so each decision below finds its client's state.
  await Promise.all(Array.from({ length: inFlight }, () => worker(Math.ceil(KEYS / inFlight))));
  const before = await commands();
  const serverBefore = await serverCpuUs();
  const cpu = process.cpuUsage();
  const started = process.hrtime.bigint();
  await Promise.all(Array.from({ length: inFlight }, () => worker(DECISIONS / inFlight)));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const used = process.cpuUsage(cpu);
  return {
    rate: DECISIONS / seconds,
    commands: ((await commands()) - before - 1) / DECISIONS,
    processCpuUs: (used.user + used.system) / DECISIONS,
    serverCpuUs: ((await serverCpuUs()) - serverBefore) / DECISIONS,
  };
}

function rlf(): { decide: Decide; close: () => void } {
  const client = new Memcached(server.address);
  const limiter = new RateLimiterMemcache({
    storeClient: client,
    points: LIMIT,
    duration: 60,
    keyPrefix: `rlf${Math.random()}`,
  });
  return { decide: (i) => limiter.consume(addresses[i] as string), close: () => client.end() };
}

let runs = 0;
function traffik(strategy: Strategy): { decide: Decide; close: () => Promise<void> } {
  const backend = new MemcachedBackend({ servers: [server.address], namespace: `bench${runs++}` });
  const uid = strategy.name.replace(/[^\w.-]/g, "-");
  const throttle = new HTTPThrottle({ uid, rate: `${LIMIT}/m`, strategy, backend });
  const requests = addresses.map((ip) => ({ ip }));
  return {
    decide: (i) => throttle.hit(requests[i] as { ip: string }),
    close: () => backend.close(),
  };
}

const contenders: Record<string, StoreContender> = {
  "rate-limiter-flexible RateLimiterMemcache": rlf,
  "Traffik fixed window": () => traffik(new FixedWindowStrategy()),
  "Traffik token bucket": () => traffik(new TokenBucketStrategy()),
  "Traffik GCRA": () => traffik(new GCRAStrategy()),
  "Traffik sliding window log": () => traffik(new SlidingWindowLogStrategy()),
  "Traffik sliding window counter": () => traffik(new SlidingWindowCounterStrategy()),
  "Traffik token bucket with debt": () => traffik(new TokenBucketWithDebtStrategy()),
  "Traffik leaky bucket": () => traffik(new LeakyBucketStrategy()),
  "Traffik leaky bucket with queue": () => traffik(new LeakyBucketWithQueueStrategy()),
};

await compareStores({
  title: `memcached, ${KEYS} keys, ${DECISIONS} decisions a run, median of ${ROUNDS} alternating rounds`,
  contenders,
  rounds: ROUNDS,
  measure,
  baseFor: () => "rate-limiter-flexible RateLimiterMemcache",
});
await server.stop();
