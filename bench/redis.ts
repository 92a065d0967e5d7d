/**
 * Redis decisions per second, 1 and 64 in flight, Redis commands per decision, and this
 * process's and redis-server's CPU time per decision: Traffik's RedisBackend beside rate-limiter-flexible's
 * RateLimiterRedis, on one redis-server started here, in one run (alternating rounds, median
 * reported). On a loaded machine the server's CPU per decision moves far less than throughput.
 * The node-redis rows run both over a client of the `redis` package (Traffik detects it;
 * rate-limiter-flexible is told so with `useRedisPackage`), each compared with
 * rate-limiter-flexible over the same client library.
 *
 * Each contender is measured in a fresh process, as an app would run it: in one process, the
 * strategies' shared code became polymorphic and slowed each of them down (the peer's own
 * auto-pipelining variant moved by a third that way).
 *
 *   npm run bench:redis            (BENCH_DECISIONS, BENCH_ROUNDS, BENCH_ONLY)
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { Redis } from "ioredis";
import { RateLimiterRedis } from "rate-limiter-flexible";
import { createClient } from "redis";
import { HTTPThrottle } from "traffik";
import { RedisBackend } from "traffik/backends/redis";
import {
  FixedWindowStrategy,
  GCRAStrategy,
  SlidingWindowLogStrategy,
  type Strategy,
  TokenBucketStrategy,
} from "traffik/strategies";
import { startRedis } from "../test/support/servers.js";
import {
  compareStores,
  keepLoadOffServerCore,
  measureContender,
  PIN,
  pinToServerCore,
  type StoreContender,
  type StoreRun,
} from "./support.js";

const KEYS = 10_000;
const DECISIONS = Number(process.env.BENCH_DECISIONS ?? 40_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const LIMIT = 1_000_000_000;

// A child process measures the contender BENCH_CHILD on the parent's server, BENCH_URL.
const child = process.env.BENCH_CHILD;
const server = child === undefined ? await startRedis() : undefined;
const url = process.env.BENCH_URL ?? (server?.url as string);
const admin = new Redis(url);
const addresses = Array.from({ length: KEYS }, (_, i) => `10.0.${(i >> 8) & 255}.${i & 255}`);

type Decide = (i: number) => Promise<unknown>;

/** redis-server's CPU seconds so far (INFO cpu): its own work, whatever the machine's load. */
async function serverCpu(): Promise<number> {
  const info = await admin.info("cpu");
  const seconds = (name: string) => Number(info.match(new RegExp(`${name}:([\\d.]+)`))?.[1]);
  return seconds("used_cpu_sys") + seconds("used_cpu_user");
}

/** A run: rate, commands, and this process's and redis-server's CPU (user + system) per decision. */
async function measure(decide: Decide, inFlight: number): Promise<StoreRun> {
  let next = 0;
  const worker = async (count: number) => {
    for (let n = 0; n < count; n++) await decide(next++ % KEYS);
  };
  // Warm up over every key, so throttled clients are all over their limit before measuring.
  await Promise.all(Array.from({ length: inFlight }, () => worker(Math.ceil(KEYS / inFlight))));
  await admin.config("RESETSTAT");
  const cpuBefore = await serverCpu();
  const processBefore = process.cpuUsage();
  const started = process.hrtime.bigint();
  await Promise.all(Array.from({ length: inFlight }, () => worker(DECISIONS / inFlight)));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const processCpu = process.cpuUsage(processBefore);
  const serverUs = ((await serverCpu()) - cpuBefore) * 1e6;
  const info = await admin.info("commandstats");
  let commands = 0;
  for (const [, name, calls] of info.matchAll(/cmdstat_(\w+):calls=(\d+)/g))
    if (name !== "config") commands += Number(calls);
  // INFO's own two calls are left in: a few microseconds over the whole run.
  return {
    rate: DECISIONS / seconds,
    commands: commands / DECISIONS,
    processCpuUs: (processCpu.user + processCpu.system) / DECISIONS,
    serverCpuUs: serverUs / DECISIONS,
  };
}

function rlf(autoPipelining: boolean): { decide: Decide; close: () => void } {
  const client = new Redis(url, { enableAutoPipelining: autoPipelining });
  const limiter = new RateLimiterRedis({
    storeClient: client,
    points: LIMIT,
    duration: 60,
    keyPrefix: "rlf",
  });
  return {
    decide: (i) => limiter.consume(addresses[i] as string),
    close: () => client.disconnect(),
  };
}

/** A node-redis client of the server, not yet connected; no offline queue, as the README advises. */
function nodeRedis() {
  const client = createClient({ url, disableOfflineQueue: true });
  client.on("error", () => {});
  return client;
}

/** rate-limiter-flexible over node-redis: the same limiter, told which client it has. */
function rlfNodeRedis(): { decide: Decide; close: () => Promise<void> } {
  const client = nodeRedis();
  let connected = false;
  const ready = client.connect().then(() => {
    connected = true;
  });
  const limiter = new RateLimiterRedis({
    storeClient: client,
    useRedisPackage: true,
    points: LIMIT,
    duration: 60,
    keyPrefix: "rlf",
  });
  const consume = (i: number) => limiter.consume(addresses[i] as string);
  return {
    // Connected before the warm-up is over: the measured calls go straight to the limiter.
    decide: (i) => (connected ? consume(i) : ready.then(() => consume(i))),
    close: () => client.close(),
  };
}

/** Traffik over node-redis: the backend is given a client of the `redis` package, and connects it. */
function traffikNodeRedis(strategy: Strategy): { decide: Decide; close: () => Promise<void> } {
  const client = nodeRedis();
  const { decide, close } = traffik(strategy, false, true, client);
  return {
    decide,
    close: async () => {
      await close();
      await client.close();
    },
  };
}

function traffik(
  strategy: Strategy,
  throttled = false,
  blockCache = true,
  connection: string | ReturnType<typeof nodeRedis> = url,
): { decide: Decide; close: () => Promise<void> } {
  const backend = new RedisBackend({ connection, namespace: "bench", blockCache });
  const uid = strategy.name.replace(/[^\w.-]/g, "-");
  const rate = throttled ? "1/h" : `${LIMIT}/m`;
  const throttle = new HTTPThrottle({ uid, rate, strategy, backend });
  const requests = addresses.map((remoteAddress) => ({ socket: { remoteAddress }, headers: {} }));
  const hit = (i: number) => throttle.hit(requests[i] as (typeof requests)[number]);
  return {
    decide: throttled ? (i) => hit(i).catch(() => undefined) : hit,
    close: () => backend.close(),
  };
}

/** Every client already over a 1-per-hour limit: each decision is a rejection. */
function rlfThrottled(): { decide: Decide; close: () => void } {
  const client = new Redis(url);
  const limiter = new RateLimiterRedis({ storeClient: client, points: 1, duration: 3600 });
  return {
    decide: (i) => limiter.consume(addresses[i] as string).catch(() => undefined),
    close: () => client.disconnect(),
  };
}

const contenders: Record<string, StoreContender> = {
  "rate-limiter-flexible RateLimiterRedis": () => rlf(false),
  "rate-limiter-flexible, auto-pipelining": () => rlf(true),
  "Traffik fixed window": () => traffik(new FixedWindowStrategy()),
  "Traffik token bucket": () => traffik(new TokenBucketStrategy()),
  "Traffik GCRA": () => traffik(new GCRAStrategy()),
  "Traffik sliding window log": () => traffik(new SlidingWindowLogStrategy()),
  "node-redis: RateLimiterRedis": rlfNodeRedis,
  "node-redis: Traffik fixed window": () => traffikNodeRedis(new FixedWindowStrategy()),
  "node-redis: Traffik GCRA": () => traffikNodeRedis(new GCRAStrategy()),
  "throttled clients: rate-limiter-flexible": rlfThrottled,
  "throttled clients: Traffik, block cache": () => traffik(new FixedWindowStrategy(), true),
  "throttled clients: Traffik, no block cache": () =>
    traffik(new FixedWindowStrategy(), true, false),
};

// BENCH_ONLY="RateLimiterRedis,fixed window" runs only the contenders whose names contain one of these.
const only = process.env.BENCH_ONLY?.split(",");
for (const name of Object.keys(contenders)) {
  if (only && !only.some((part) => name.includes(part))) delete contenders[name];
}

if (child !== undefined) {
  const runs = await measureContender(contenders[child] as StoreContender, measure);
  console.log(JSON.stringify(runs));
  admin.disconnect();
  process.exit(0);
}

// redis-server on core 0, the contenders on the others, so they do not take turns on one core.
pinToServerCore((await admin.info("server")).match(/process_id:(\d+)/)?.[1] ?? "");
keepLoadOffServerCore();

const run = promisify(execFile);
/** Each contender's runs at 1 and at 64 in flight, for the commands per decision. */
const detail = new Map<string, [StoreRun, StoreRun][]>();
const isolate = async (name: string): Promise<[StoreRun, StoreRun]> => {
  const env = { ...process.env, BENCH_CHILD: name, BENCH_URL: url };
  const { stdout } = await run(process.execPath, ["--import", "tsx", import.meta.filename], {
    env,
  });
  const runs = JSON.parse(stdout.trim().split("\n").at(-1) as string) as [StoreRun, StoreRun];
  detail.set(name, [...(detail.get(name) ?? []), runs]);
  return runs;
};

const version = (await admin.info("server")).match(/redis_version:(\S+)/)?.[1];
await compareStores({
  title: `Redis ${version}, ${KEYS} keys, ${DECISIONS} decisions a run, median of ${ROUNDS} alternating rounds, each contender in its own process${PIN ? ", redis-server pinned to core 0" : ""}`,
  contenders,
  rounds: ROUNDS,
  measure,
  afterEach: () => admin.flushall(),
  baseFor: (name) =>
    name.startsWith("throttled")
      ? "throttled clients: rate-limiter-flexible"
      : name.startsWith("node-redis")
        ? "node-redis: RateLimiterRedis"
        : "rate-limiter-flexible RateLimiterRedis",
  isolate,
});

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1] as number;
};
console.log(
  `\nRedis commands per decision (median)               1 in flight         64 in flight`,
);
for (const [name, runs] of detail) {
  const at = (i: 0 | 1) => median(runs.map((r) => r[i].commands)).toFixed(2);
  console.log(`${name.padEnd(42)} ${at(0).padStart(20)} ${at(1).padStart(20)}`);
}
admin.disconnect();
await server?.stop();
