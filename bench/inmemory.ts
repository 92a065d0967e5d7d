/**
 * In-memory decisions per second and heap bytes per tracked key: Traffik beside
 * rate-limiter-flexible (RateLimiterMemory) and express-rate-limit (MemoryStore), in one run.
 *
 *   npm run bench           (BENCH_PER_PROCESS=0 prints the interleaved figures only)
 *
 * First the figures as users run them (`inmemory-interleaved.ts`): real `IncomingMessage`s,
 * the peers in the same process in interleaved slices, a process per strategy and a mixed one.
 * Then the per-process figures, on plain request-shaped objects:
 * each contender runs in a fresh child process (so no contender's JIT or garbage shapes
 * another's), the contenders alternate over several rounds, and the median round is reported.
 * Every contender makes awaited decisions over the same 10 000 keys, with limits high enough
 * that every decision admits. The events line sets the fixed-window throttle with no listener
 * (what every user pays) beside one with a `traffik:decision` subscriber, one with an
 * `onDecision` hook, and one recorded by traffik/otel into the OpenTelemetry SDK (a Prometheus
 * exporter, not scraped).
 */
import { execFileSync } from "node:child_process";
import { subscribe } from "node:diagnostics_channel";
import { fileURLToPath } from "node:url";
import { PrometheusExporter } from "@opentelemetry/exporter-prometheus";
import { MeterProvider } from "@opentelemetry/sdk-metrics";
import { MemoryStore } from "express-rate-limit";
import { RateLimiterMemory } from "rate-limiter-flexible";
import { CHANNELS, HTTPThrottle, Rate } from "traffik";
import { InMemoryBackend } from "traffik/backends/inmemory";
import { instrumentTraffik } from "traffik/otel";
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
import { printInterleaved } from "./inmemory-interleaved.js";
import { median } from "./support.js";

const KEYS = 10_000;
const DECISIONS = Number(process.env.BENCH_DECISIONS ?? 1_000_000);
const HEAP_KEYS = Number(process.env.BENCH_HEAP_KEYS ?? 1_000_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const LIMIT = 1_000_000_000;
/** The second scenario: 10 per minute per client, so nearly every decision is a rejection. */
const THROTTLING_LIMIT = 10;

const strategies: Record<string, () => Strategy> = {
  "fixed-window": () => new FixedWindowStrategy(),
  "sliding-window-counter": () => new SlidingWindowCounterStrategy(),
  "sliding-window-log": () => new SlidingWindowLogStrategy(),
  "token-bucket": () => new TokenBucketStrategy(),
  "token-bucket-with-debt": () => new TokenBucketWithDebtStrategy(),
  "leaky-bucket": () => new LeakyBucketStrategy(),
  "leaky-bucket-with-queue": () => new LeakyBucketWithQueueStrategy(),
  gcra: () => new GCRAStrategy(),
};

/** Events the events contenders' listener saw: checked, so that a line never measures none. */
let eventsSeen = 0;
const listen = () => {
  eventsSeen++;
};

/** Decisions the otel contender's SDK counted: checked, as `eventsSeen`. */
let decisionsRecorded: (() => Promise<number>) | undefined;

/** Traffik's metrics into the OpenTelemetry SDK, held for a Prometheus scrape that never comes. */
async function instrumentWithSdk(): Promise<void> {
  const exporter = new PrometheusExporter({ preventServerStart: true });
  await instrumentTraffik({ meterProvider: new MeterProvider({ readers: [exporter] }) });
  decisionsRecorded = async () => {
    const { resourceMetrics } = await exporter.collect();
    const metric = resourceMetrics.scopeMetrics
      .flatMap((scope) => scope.metrics)
      .find((m) => m.descriptor.name === "traffik.decisions");
    return (metric?.dataPoints ?? []).reduce((sum, point) => sum + (point.value as number), 0);
  };
}

/** A contender: a function deciding for key number i, built fresh in its child process. */
async function contender(name: string): Promise<(i: number) => Promise<unknown>> {
  const addresses = Array.from({ length: KEYS }, (_, i) => `10.0.${(i >> 8) & 255}.${i & 255}`);
  if (name === "rlf") {
    const limiter = new RateLimiterMemory({ points: LIMIT, duration: 60 });
    return (i) => limiter.consume(addresses[i] as string);
  }
  if (name === "rlf-throttling") {
    const limiter = new RateLimiterMemory({ points: THROTTLING_LIMIT, duration: 60 });
    return (i) => limiter.consume(addresses[i] as string).catch(() => undefined);
  }
  if (name === "erl") {
    const store = new MemoryStore();
    store.init({ windowMs: 60_000 } as never);
    return (i) => store.increment(addresses[i] as string);
  }
  const backend = new InMemoryBackend({ namespace: "bench" });
  if (name === "traffik-bare") {
    const strategy = new FixedWindowStrategy();
    const rate = new Rate({ limit: LIMIT, minutes: 1 });
    const requests = addresses.map((identity) => ({
      uid: "bare",
      identity,
      strategy,
      rate,
      cost: 1,
    }));
    return async (i) => backend.decide(requests[i] as (typeof requests)[number], "consume");
  }
  const throttling = name.startsWith("traffik-throttling:");
  if (name === "traffik-events:channel") subscribe(CHANNELS.decision, listen);
  if (name === "traffik-events:otel") await instrumentWithSdk();
  const hooked = name === "traffik-events:hook";
  const make = name.startsWith("traffik-events:")
    ? strategies["fixed-window"]
    : (strategies[name.replace(/^traffik(-throttling)?:/, "")] as () => Strategy);
  const throttle = new HTTPThrottle({
    uid: "bench",
    rate: `${throttling ? THROTTLING_LIMIT : LIMIT}/m`,
    strategy: (make as () => Strategy)(),
    backend,
    ...(hooked ? { onDecision: listen } : {}),
  });
  const connections = addresses.map((remoteAddress) => ({
    socket: { remoteAddress },
    headers: {},
  }));
  if (!throttling) return (i) => throttle.hit(connections[i] as (typeof connections)[number]);
  return (i) => throttle.hit(connections[i] as (typeof connections)[number]).catch(() => undefined);
}

/** Child: decisions per second of one contender, after a warm-up. */
async function measureRate(name: string): Promise<number> {
  const decide = await contender(name);
  for (let i = 0; i < 300_000; i++) await decide(i % KEYS);
  const started = process.hrtime.bigint();
  for (let i = 0; i < DECISIONS; i++) await decide(i % KEYS);
  const rate = DECISIONS / (Number(process.hrtime.bigint() - started) / 1e9);
  const seen = decisionsRecorded ? await decisionsRecorded() : eventsSeen;
  if (name.startsWith("traffik-events:") && seen < DECISIONS) {
    throw new Error(`${name}: the listener saw ${seen} events for ${DECISIONS} decisions.`);
  }
  return rate;
}

/** Child: heap bytes per tracked key with HEAP_KEYS distinct keys (fixed window). */
async function measureHeap(name: string): Promise<number> {
  const gc = (globalThis as { gc?: () => void }).gc as () => void;
  const keys = Array.from({ length: HEAP_KEYS }, (_, i) => `client-${i}`);
  let track: (key: string) => unknown;
  if (name === "rlf") {
    const limiter = new RateLimiterMemory({ points: 10, duration: 600 });
    track = (key) => limiter.consume(key);
  } else if (name === "erl") {
    const store = new MemoryStore();
    store.init({ windowMs: 600_000 } as never);
    track = (key) => store.increment(key);
  } else {
    const backend = new InMemoryBackend({ namespace: "heap", maxKeys: HEAP_KEYS });
    const strategy = new FixedWindowStrategy();
    const rate = new Rate({ limit: 10, minutes: 10 });
    track = (identity) =>
      backend.decide({ uid: "heap", identity, strategy, rate, cost: 1 }, "consume");
  }
  gc();
  const before = process.memoryUsage().heapUsed;
  for (const key of keys) await track(key);
  gc();
  return (process.memoryUsage().heapUsed - before) / HEAP_KEYS;
}

const child = process.argv[2];
if (child !== undefined) {
  const [kind, name] = child.split("=") as [string, string];
  console.log(kind === "heap" ? await measureHeap(name) : await measureRate(name));
  process.exit(0);
}

printInterleaved();
if (process.env.BENCH_PER_PROCESS === "0") process.exit(0);

const self = fileURLToPath(import.meta.url);
const run = (arg: string): number =>
  Number(
    execFileSync(process.execPath, ["--expose-gc", "--import", "tsx", self, arg], {
      encoding: "utf8",
    }).trim(),
  );
const format = (n: number) =>
  n >= 1e6 ? `${(n / 1e6).toFixed(2)} M/s` : `${(n / 1e3).toFixed(0)} k/s`;

const throttled = ["fixed-window", "token-bucket", "gcra"];
const names = [
  "rlf",
  "erl",
  "traffik-bare",
  ...Object.keys(strategies).map((s) => `traffik:${s}`),
  "traffik-events:channel",
  "traffik-events:hook",
  "traffik-events:otel",
  "rlf-throttling",
  ...throttled.map((s) => `traffik-throttling:${s}`),
];
const rates = new Map<string, number[]>(names.map((name) => [name, []]));
for (let round = 0; round < ROUNDS; round++) {
  const order = round % 2 === 0 ? names : [...names].reverse();
  for (const name of order) rates.get(name)?.push(run(`rate=${name}`));
}
const rlf = median(rates.get("rlf") as number[]);
const erl = median(rates.get("erl") as number[]);
console.log(
  `Awaited in-memory decisions over ${KEYS} keys, median of ${ROUNDS} alternating rounds of ${DECISIONS}:`,
);
console.log(`  rate-limiter-flexible RateLimiterMemory.consume   ${format(rlf)}`);
console.log(`  express-rate-limit MemoryStore.increment          ${format(erl)}`);
const bare = median(rates.get("traffik-bare") as number[]);
console.log(
  `  Traffik InMemoryBackend.decide, fixed window      ${format(bare)}   ${(bare / erl).toFixed(2)}x ERL store`,
);
console.log("  Traffik HTTPThrottle.hit (identify + decide):");
for (const name of Object.keys(strategies)) {
  const rate = median(rates.get(`traffik:${name}`) as number[]);
  console.log(
    `    ${name.padEnd(26)} ${format(rate).padStart(10)}   ${(rate / rlf).toFixed(2)}x RLF   ${(rate / erl).toFixed(2)}x ERL store`,
  );
}
const idle = median(rates.get("traffik:fixed-window") as number[]);
const events = ["channel", "hook", "otel"].map((kind) =>
  median(rates.get(`traffik-events:${kind}`) as number[]),
) as [number, number, number];
console.log(
  `  Decision events, fixed window: no listener ${format(idle)}; a traffik:decision subscriber ${format(events[0])} (${(events[0] / idle).toFixed(2)}x); an onDecision hook ${format(events[1])} (${(events[1] / idle).toFixed(2)}x); with traffik/otel metrics ${format(events[2])} (${(events[2] / idle).toFixed(2)}x)`,
);
const rlfThrottling = median(rates.get("rlf-throttling") as number[]);
console.log(
  `Throttling: ${THROTTLING_LIMIT} per minute per client, nearly every decision a rejection (caught):`,
);
console.log(`  rate-limiter-flexible consume (rejects)         ${format(rlfThrottling)}`);
for (const name of throttled) {
  const rate = median(rates.get(`traffik-throttling:${name}`) as number[]);
  console.log(
    `  Traffik hit (throws ConnectionThrottled), ${name.padEnd(13)} ${format(rate).padStart(10)}   ${(rate / rlfThrottling).toFixed(2)}x RLF`,
  );
}
const heap = ["rlf", "erl", "traffik"].map((name) => run(`heap=${name}`).toFixed(0));
console.log(
  `Heap bytes per tracked key at ${HEAP_KEYS} keys (fixed window): rate-limiter-flexible ${heap[0]} B, express-rate-limit ${heap[1]} B, Traffik ${heap[2]} B`,
);
