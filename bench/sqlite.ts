/**
 * SQLite decisions per second: Traffik's SQLiteBackend beside rate-limiter-flexible's
 * RateLimiterSQLite (on the same driver, better-sqlite3, in WAL mode), and Traffik's in-memory
 * backend for scale, in one run.
 *
 * 1. One process, one decision at a time, 10 000 clients: alternating rounds, medians.
 * 2. Four OS processes on one file at once, 10 000 clients shared: the decisions per second of
 *    all four together, and how long each decision took (p50, p99, max). The driver is
 *    synchronous, so that time is spent on the process's thread: its event loop waits for it.
 *
 *   npm run bench:sqlite            (BENCH_DECISIONS, BENCH_ROUNDS)
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { RateLimiterSQLite } from "rate-limiter-flexible";
import { HTTPThrottle } from "traffik";
import { InMemoryBackend } from "traffik/backends/inmemory";
import { SQLiteBackend } from "traffik/backends/sqlite";
import {
  FixedWindowStrategy,
  GCRAStrategy,
  SlidingWindowLogStrategy,
  type Strategy,
  TokenBucketStrategy,
} from "traffik/strategies";
import { median } from "./support.js";

const KEYS = 10_000;
const DECISIONS = Number(process.env.BENCH_DECISIONS ?? 20_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const LIMIT = 1_000_000_000;
const addresses = Array.from({ length: KEYS }, (_, i) => ({
  ip: `10.0.${(i >> 8) & 255}.${i & 255}`,
}));

/** The slice of better-sqlite3 this script uses, for rate-limiter-flexible's limiter. */
type Driver = new (path: string) => { pragma(source: string): unknown; close(): void };
const Database = createRequire(import.meta.url)("better-sqlite3") as Driver;

type Decide = (i: number) => Promise<unknown>;
interface Contender {
  decide: Decide;
  close: () => unknown;
}

let runs = 0;
const contenders: Record<string, (path: string) => Promise<Contender>> = {
  "rate-limiter-flexible RateLimiterSQLite": async (path) => {
    const db = new Database(path);
    db.pragma("journal_mode = WAL");
    const limiter = await new Promise<RateLimiterSQLite>((resolve, reject) => {
      const created: RateLimiterSQLite = new RateLimiterSQLite(
        {
          storeClient: db,
          storeType: "better-sqlite3",
          tableName: "rlf",
          points: LIMIT,
          duration: 60,
        },
        (error?: unknown) => (error ? reject(error) : resolve(created)),
      );
    });
    return { decide: (i) => limiter.consume(addresses[i]?.ip as string), close: () => db.close() };
  },
  "Traffik SQLite fixed window": (path) => traffikSQLite(path, new FixedWindowStrategy()),
  "Traffik SQLite token bucket": (path) => traffikSQLite(path, new TokenBucketStrategy()),
  "Traffik SQLite GCRA": (path) => traffikSQLite(path, new GCRAStrategy()),
  "Traffik SQLite sliding window log": (path) =>
    traffikSQLite(path, new SlidingWindowLogStrategy()),
  "Traffik in-memory token bucket": async () => {
    const backend = new InMemoryBackend({ namespace: "memory" });
    const throttle = new HTTPThrottle({
      uid: "m",
      rate: `${LIMIT}/m`,
      strategy: new TokenBucketStrategy(),
      backend,
    });
    return {
      decide: (i) => throttle.hit(addresses[i] as { ip: string }),
      close: () => backend.close(),
    };
  },
};

async function traffikSQLite(path: string, strategy: Strategy): Promise<Contender> {
  const backend = new SQLiteBackend({ path, namespace: `bench${runs++}` });
  const uid = strategy.name.replace(/[^\w.-]/g, "-");
  const throttle = new HTTPThrottle({ uid, rate: `${LIMIT}/m`, strategy, backend });
  await backend.initialize();
  return {
    decide: (i) => throttle.hit(addresses[i] as { ip: string }),
    close: () => backend.close(),
  };
}

/** Decides `count` times, one at a time, over the clients from `first`; each one's duration. */
async function drive(decide: Decide, count: number, first = 0): Promise<Float64Array> {
  const durations = new Float64Array(count);
  for (let n = 0; n < count; n++) {
    const started = performance.now();
    await decide((first + n) % KEYS);
    durations[n] = performance.now() - started;
  }
  return durations;
}

/** Worker mode: open `name` on `path`, say "ready", wait for "go", decide, print the figures. */
async function worker(name: string, path: string, count: number, first: number): Promise<void> {
  const contender = await (contenders[name] as (path: string) => Promise<Contender>)(path);
  await drive(contender.decide, KEYS, first);
  console.log("ready");
  process.stdin.setEncoding("utf8");
  await once(process.stdin, "data");
  const started = performance.now();
  const durations = await drive(contender.decide, count, first);
  const seconds = (performance.now() - started) / 1000;
  console.log(JSON.stringify({ seconds, durations: [...durations] }));
  process.stdin.destroy();
  await contender.close();
}

/** Four workers on one file, released together: decisions per second, and each one's duration. */
async function fourProcesses(name: string, path: string) {
  const children = [0, 1, 2, 3].map((w) =>
    spawn(
      process.execPath,
      [
        ...process.execArgv,
        process.argv[1] as string,
        "worker",
        name,
        path,
        String(DECISIONS / 4),
        String(w * 2500),
      ],
      { stdio: ["pipe", "pipe", "inherit"] },
    ),
  );
  const lines = children.map((child) =>
    createInterface({ input: child.stdout })[Symbol.asyncIterator](),
  );
  for (const line of lines) await line.next();
  for (const child of children) child.stdin.write("go\n");
  const results = await Promise.all(
    lines.map(
      async (line) =>
        JSON.parse((await line.next()).value as string) as { seconds: number; durations: number[] },
    ),
  );
  await Promise.all(
    children.map((child) => (child.exitCode === null ? once(child, "exit") : undefined)),
  );
  const all = results.flatMap((r) => r.durations).sort((a, b) => a - b);
  const at = (q: number) => all[Math.min(all.length - 1, Math.floor(q * all.length))] as number;
  return {
    rate: DECISIONS / Math.max(...results.map((r) => r.seconds)),
    p50: at(0.5),
    p99: at(0.99),
    max: all[all.length - 1] as number,
  };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "traffik-bench-sqlite-"));
  try {
    const rates = new Map<string, number[]>();
    for (let round = 0; round < ROUNDS; round++) {
      const names = Object.keys(contenders);
      for (const name of round % 2 === 0 ? names : names.reverse()) {
        const contender = await (contenders[name] as (p: string) => Promise<Contender>)(
          join(dir, `one-${round}.db`),
        );
        await drive(contender.decide, KEYS);
        const started = performance.now();
        await drive(contender.decide, DECISIONS);
        const rate = DECISIONS / ((performance.now() - started) / 1000);
        await contender.close();
        rates.set(name, [...(rates.get(name) ?? []), rate]);
      }
    }
    const base = median(rates.get("rate-limiter-flexible RateLimiterSQLite") ?? [1]);
    console.log(
      `One process, ${KEYS} clients, ${DECISIONS} decisions a run, median of ${ROUNDS} alternating rounds`,
    );
    for (const [name, list] of rates) {
      const rate = median(list);
      console.log(
        `${name.padEnd(42)} ${`${(rate / 1000).toFixed(1)} k/s`.padStart(11)} ${(rate / base).toFixed(2)}x`,
      );
    }
    console.log(
      `\nFour processes on one file, ${DECISIONS} decisions in all, one at a time in each`,
    );
    console.log(`${"".padEnd(42)} ${"all four".padStart(11)}   per decision: p50, p99, max (ms)`);
    for (const name of ["rate-limiter-flexible RateLimiterSQLite", "Traffik SQLite token bucket"]) {
      const r = await fourProcesses(name, join(dir, `four-${name.replace(/\W/g, "")}.db`));
      console.log(
        `${name.padEnd(42)} ${`${(r.rate / 1000).toFixed(1)} k/s`.padStart(11)}   ${r.p50.toFixed(3)}, ${r.p99.toFixed(3)}, ${r.max.toFixed(1)}`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const [mode, name = "", path = "", count = "0", first = "0"] = process.argv.slice(2);
if (mode === "worker") await worker(name, path, Number(count), Number(first));
else await main();
