/**
 * In-memory decisions per second and heap bytes per tracked key: Traffik beside
 * rate-limiter-flexible (RateLimiterMemory) and express-rate-limit (MemoryStore), in one run.
 *
 *   npm run bench
 *
 * Every contender makes awaited decisions over the same 10 000 keys, with limits high enough
 * that every decision admits (so no contender pays for building rejections).
 */
import { MemoryStore } from "express-rate-limit";
import { RateLimiterMemory } from "rate-limiter-flexible";
import { HTTPThrottle } from "traffik";
import { InMemoryBackend } from "traffik/backends/inmemory";
import {
  FixedWindowStrategy,
  GCRAStrategy,
  LeakyBucketStrategy,
  LeakyBucketWithQueueStrategy,
  SlidingWindowCounterStrategy,
  SlidingWindowLogStrategy,
  TokenBucketStrategy,
  TokenBucketWithDebtStrategy,
} from "traffik/strategies";

const KEYS = 10_000;
const DECISIONS = Number(process.env.BENCH_DECISIONS ?? 1_000_000);
const HEAP_KEYS = Number(process.env.BENCH_HEAP_KEYS ?? 1_000_000);
const LIMIT = 1_000_000_000;

const addresses = Array.from(
  { length: KEYS },
  (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
);
const requests = addresses.map((remoteAddress) => ({ socket: { remoteAddress }, headers: {} }));

async function perSecond(decide: (i: number) => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 50_000; i++) await decide(i % KEYS); // warm up
  const started = process.hrtime.bigint();
  for (let i = 0; i < DECISIONS; i++) await decide(i % KEYS);
  return DECISIONS / (Number(process.hrtime.bigint() - started) / 1e9);
}

const format = (n: number) =>
  n >= 1e6 ? `${(n / 1e6).toFixed(2)} M/s` : `${(n / 1e3).toFixed(0)} k/s`;

const rlf = new RateLimiterMemory({ points: LIMIT, duration: 60 });
const rlfRate = await perSecond((i) => rlf.consume(addresses[i] as string));
const erl = new MemoryStore();
erl.init({ windowMs: 60_000 } as never);
const erlRate = await perSecond((i) => erl.increment(addresses[i] as string));
console.log(`rate-limiter-flexible RateLimiterMemory.consume   ${format(rlfRate)}`);
console.log(`express-rate-limit MemoryStore.increment          ${format(erlRate)}`);
console.log("");
console.log(
  "Traffik HTTPThrottle.hit (identify, decide, await)    decisions/s   vs RLF   vs ERL store",
);

const strategies = [
  new FixedWindowStrategy(),
  new SlidingWindowCounterStrategy(),
  new SlidingWindowLogStrategy(),
  new TokenBucketStrategy(),
  new TokenBucketWithDebtStrategy(),
  new LeakyBucketStrategy(),
  new LeakyBucketWithQueueStrategy(),
  new GCRAStrategy(),
];
for (const strategy of strategies) {
  const backend = new InMemoryBackend({ namespace: "bench" });
  const throttle = new HTTPThrottle({ uid: "bench", rate: `${LIMIT}/m`, strategy, backend });
  const rate = await perSecond((i) => throttle.hit(requests[i] as (typeof requests)[number]));
  console.log(
    `  ${strategy.name.padEnd(30)} ${format(rate).padStart(22)}   ${(rate / rlfRate).toFixed(2)}x   ${(rate / erlRate).toFixed(2)}x`,
  );
  await backend.close();
}

{
  const backend = new InMemoryBackend({ namespace: "bench" });
  const strategy = new FixedWindowStrategy();
  const throttle = new HTTPThrottle({ uid: "bare", rate: `${LIMIT}/m`, backend });
  const decisionRequests = addresses.map((identity) => ({
    uid: "bare",
    identity,
    strategy,
    rate: throttle.rate,
    cost: 1,
  }));
  const rate = await perSecond(async (i) =>
    backend.decide(decisionRequests[i] as (typeof decisionRequests)[number], "consume"),
  );
  console.log(
    `Traffik InMemoryBackend.decide (fixed window, bare)  ${format(rate)}   ${(rate / rlfRate).toFixed(2)}x   ${(rate / erlRate).toFixed(2)}x`,
  );
}

// Heap per tracked key, at HEAP_KEYS keys: the same key strings for everyone.
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) {
  console.log("\n(heap per key skipped: run with node --expose-gc, as `npm run bench` does)");
} else {
  const heapPerKey = async (track: (key: string) => unknown): Promise<number> => {
    const keys = Array.from({ length: HEAP_KEYS }, (_, i) => `client-${i}`);
    gc();
    const before = process.memoryUsage().heapUsed;
    for (const key of keys) await track(key);
    gc();
    return (process.memoryUsage().heapUsed - before) / HEAP_KEYS;
  };
  const rlfHeap = await heapPerKey((key) =>
    new RateLimiterMemory({ points: 10, duration: 600 }).consume(key),
  );
  console.log("");
  const rlfShared = new RateLimiterMemory({ points: 10, duration: 600 });
  const rlfBytes = await heapPerKey((key) => rlfShared.consume(key));
  void rlfHeap;
  const erlStore = new MemoryStore();
  erlStore.init({ windowMs: 600_000 } as never);
  const erlBytes = await heapPerKey((key) => erlStore.increment(key));
  const backend = new InMemoryBackend({ namespace: "heap", maxKeys: HEAP_KEYS });
  const strategy = new FixedWindowStrategy();
  const rate = { limit: 10, windowMs: 600_000 } as HTTPThrottle["rate"];
  const ourBytes = await heapPerKey((identity) =>
    backend.decide({ uid: "heap", identity, strategy, rate, cost: 1 }, "consume"),
  );
  console.log(`Heap bytes per tracked key at ${HEAP_KEYS} keys (fixed window):`);
  console.log(
    `  rate-limiter-flexible ${rlfBytes.toFixed(0)} B, express-rate-limit ${erlBytes.toFixed(0)} B, Traffik ${ourBytes.toFixed(0)} B`,
  );
}
process.exit(0);
