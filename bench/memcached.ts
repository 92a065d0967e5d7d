/**
 * Memcached decisions per second, 1 and 64 in flight, and memcached commands (round trips)
 * per decision: Traffik's MemcachedBackend beside rate-limiter-flexible's RateLimiterMemcache,
 * on one memcached started here, in one run (alternating rounds, median reported).
 *
 *   npm run bench:memcached            (BENCH_DECISIONS, BENCH_ROUNDS)
 */
import Memcached from "memcached";
import { RateLimiterMemcache } from "rate-limiter-flexible";
import { HTTPThrottle, type Strategy } from "traffik";
import { MemcachedBackend } from "traffik/backends/memcached";
import {
  FixedWindowStrategy,
  GCRAStrategy,
  SlidingWindowLogStrategy,
  TokenBucketStrategy,
} from "traffik/strategies";
import { memcachedStats, startMemcached } from "../test/support/servers.js";

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

async function measure(
  decide: Decide,
  inFlight: number,
): Promise<{ rate: number; commands: number }> {
  let next = 0;
  const worker = async (count: number) => {
    for (let n = 0; n < count; n++) await decide(next++ % KEYS);
  };
  // Warm up over every key, so each decision below finds its client's state.
  await Promise.all(Array.from({ length: inFlight }, () => worker(Math.ceil(KEYS / inFlight))));
  const before = await commands();
  const started = process.hrtime.bigint();
  await Promise.all(Array.from({ length: inFlight }, () => worker(DECISIONS / inFlight)));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { rate: DECISIONS / seconds, commands: ((await commands()) - before - 1) / DECISIONS };
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

const contenders: Record<string, () => { decide: Decide; close: () => unknown }> = {
  "rate-limiter-flexible RateLimiterMemcache": rlf,
  "Traffik fixed window": () => traffik(new FixedWindowStrategy()),
  "Traffik token bucket": () => traffik(new TokenBucketStrategy()),
  "Traffik GCRA": () => traffik(new GCRAStrategy()),
  "Traffik sliding window log": () => traffik(new SlidingWindowLogStrategy()),
};

const results = new Map<string, { rate: number; commands: number }[][]>();
for (let round = 0; round < ROUNDS; round++) {
  const names = round % 2 === 0 ? Object.keys(contenders) : Object.keys(contenders).reverse();
  for (const name of names) {
    const contender = (contenders[name] as () => { decide: Decide; close: () => unknown })();
    const one = await measure(contender.decide, 1);
    const many = await measure(contender.decide, 64);
    await contender.close();
    const list = results.get(name) ?? [[], []];
    list[0]?.push(one);
    list[1]?.push(many);
    results.set(name, list);
  }
}

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
const k = (n: number) => `${(n / 1000).toFixed(1)} k/s`;
const summary = [...results].map(([name, [one = [], many = []]]) => ({
  name,
  one: median(one.map((r) => r.rate)),
  many: median(many.map((r) => r.rate)),
  commands: median(many.map((r) => r.commands)),
}));
const peer = summary[0] as (typeof summary)[number];
console.log(
  `memcached, ${KEYS} keys, ${DECISIONS} decisions a run, median of ${ROUNDS} alternating rounds`,
);
console.log(
  `${"".padEnd(42)} ${"1 in flight".padStart(20)} ${"64 in flight".padStart(20)}   commands/decision`,
);
for (const s of summary) {
  const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}x`;
  console.log(
    `${s.name.padEnd(42)} ${`${k(s.one)} ${ratio(s.one, peer.one)}`.padStart(20)} ${`${k(s.many)} ${ratio(s.many, peer.many)}`.padStart(20)}   ${s.commands.toFixed(2)}`,
  );
}
await server.stop();
