/**
 * PostgreSQL decisions per second, 1 and 64 in flight, queries per decision (each one round
 * trip: "commands/decision") and the server's CPU time per decision: Traffik's PostgresBackend
 * beside rate-limiter-flexible's RateLimiterPostgres, on one PostgreSQL started here, in one
 * run (alternating rounds, median reported). Both get a pool of 10 connections; both tables
 * are UNLOGGED-or-not as their libraries make them (Traffik's is UNLOGGED by default, the
 * peer's is logged), and a logged Traffik table is measured too, for a like-for-like figure.
 * The server's CPU time moves less than throughput with the load of a shared machine.
 *
 *   npm run bench:postgres            (BENCH_DECISIONS, BENCH_ROUNDS)
 */
import { readdirSync, readFileSync } from "node:fs";
import pg from "pg";
import { RateLimiterPostgres } from "rate-limiter-flexible";
import { HTTPThrottle } from "traffik";
import { PostgresBackend } from "traffik/backends/postgres";
import {
  FixedWindowStrategy,
  GCRAStrategy,
  SlidingWindowLogStrategy,
  type Strategy,
  TokenBucketStrategy,
} from "traffik/strategies";
import { postgresBinaries, startPostgres } from "../test/support/postgres-server.js";
import { compareStores, median, type StoreContender, type StoreRun } from "./support.js";

const KEYS = 10_000;
const DECISIONS = Number(process.env.BENCH_DECISIONS ?? 10_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const LIMIT = 1_000_000_000;
const POOL = 10;

const bin = postgresBinaries();
if (bin === undefined)
  throw new Error("PostgreSQL's server is not installed: apt-get install postgresql");
const server = await startPostgres(bin);
const addresses = Array.from({ length: KEYS }, (_, i) => `10.0.${(i >> 8) & 255}.${i & 255}`);

// Every query either library sends goes through pg's Client#query: counted here.
let queries = 0;
const query = pg.Client.prototype.query as (...args: unknown[]) => unknown;
pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
  queries++;
  return query.apply(this, args);
} as typeof pg.Client.prototype.query;

type Decide = (i: number) => Promise<unknown>;

/** The server's processes: the postmaster (a connection's parent) and its children. */
const postmaster = await (async () => {
  const client = new pg.Client({ connectionString: server.url });
  await client.connect();
  const pid = (await client.query("SELECT pg_backend_pid() AS pid")).rows[0].pid as number;
  // Read while the connection, and so its process, is still there.
  const parent = Number(fields(pid)[1]);
  await client.end();
  return parent;
})();

/** `/proc/<pid>/stat`'s fields after the command: state, ppid, ... (index 0 is the state). */
function fields(pid: number | string): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
}

/** CPU seconds the server has used: the postmaster, its ended children, its live ones. */
function serverSeconds(): number {
  const ticks = (f: string[], from: number, to: number) =>
    f.slice(from, to + 1).reduce((sum, n) => sum + Number(n), 0);
  let total = ticks(fields(postmaster), 11, 14);
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const f = fields(entry);
      if (Number(f[1]) === postmaster) total += ticks(f, 11, 12);
    } catch {
      // It ended between the listing and the read.
    }
  }
  return total / 100; // USER_HZ
}

/** Server µs per decision at 64 in flight, per contender, over the rounds. */
const serverMicros = new Map<string, number[]>();
let current = "";

async function measure(decide: Decide, inFlight: number): Promise<StoreRun> {
  let next = 0;
  const worker = async (count: number) => {
    for (let n = 0; n < count; n++) await decide(next++ % KEYS);
  };
  // Warm up over every key, so each decision below finds its client's row.
  await Promise.all(Array.from({ length: inFlight }, () => worker(Math.ceil(KEYS / inFlight))));
  const before = queries;
  const cpu = serverSeconds();
  const started = process.hrtime.bigint();
  await Promise.all(Array.from({ length: inFlight }, () => worker(DECISIONS / inFlight)));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (inFlight > 1) {
    const list = serverMicros.get(current) ?? [];
    list.push(((serverSeconds() - cpu) * 1e6) / DECISIONS);
    serverMicros.set(current, list);
  }
  return { rate: DECISIONS / seconds, commands: (queries - before) / DECISIONS };
}

let runs = 0;

function rlf(): { decide: Decide; close: () => Promise<void> } {
  const pool = new pg.Pool({ connectionString: server.url, max: POOL });
  let limiter: RateLimiterPostgres | undefined;
  const created = new Promise<void>((resolve, reject) => {
    limiter = new RateLimiterPostgres(
      {
        storeClient: pool,
        storeType: "pool",
        tableName: `rlf${runs++}`,
        points: LIMIT,
        duration: 60,
      },
      (error?: unknown) => (error ? reject(error) : resolve()),
    );
  });
  return {
    decide: async (i) => {
      await created;
      return (limiter as RateLimiterPostgres).consume(addresses[i] as string);
    },
    close: () => pool.end(),
  };
}

function traffik(
  strategy: Strategy,
  logged = false,
): { decide: Decide; close: () => Promise<void> } {
  const backend = new PostgresBackend({
    connection: server.url,
    namespace: `bench${runs++}`,
    poolSize: POOL,
    ...(logged ? { table: "traffik_logged", logged: true } : {}),
  });
  const uid = strategy.name.replace(/[^\w.-]/g, "-");
  // A failed decision must stop the run, not pass for a throttled one.
  const throttle = new HTTPThrottle({
    uid,
    rate: `${LIMIT}/m`,
    strategy,
    backend,
    onError: "raise",
  });
  const requests = addresses.map((ip) => ({ ip }));
  return {
    decide: (i) => throttle.hit(requests[i] as { ip: string }),
    close: () => backend.close(),
  };
}

const named: Record<string, StoreContender> = {
  "rate-limiter-flexible RateLimiterPostgres": rlf,
  "Traffik fixed window": () => traffik(new FixedWindowStrategy()),
  "Traffik fixed window, logged table": () => traffik(new FixedWindowStrategy(), true),
  "Traffik token bucket": () => traffik(new TokenBucketStrategy()),
  "Traffik GCRA": () => traffik(new GCRAStrategy()),
  "Traffik sliding window log": () => traffik(new SlidingWindowLogStrategy()),
};
// Each contender, once made, is the one measured until the next is made.
const contenders = Object.fromEntries(
  Object.entries(named).map(([name, make]) => [
    name,
    () => {
      current = name;
      return make();
    },
  ]),
);

try {
  await compareStores({
    title: `PostgreSQL, ${KEYS} keys, ${DECISIONS} decisions a run, pools of ${POOL}, median of ${ROUNDS} alternating rounds`,
    contenders,
    rounds: ROUNDS,
    measure,
    baseFor: () => "rate-limiter-flexible RateLimiterPostgres",
  });
  console.log("\nserver CPU per decision at 64 in flight (median; all server processes, /proc)");
  for (const [name, micros] of serverMicros) {
    console.log(`${name.padEnd(42)} ${median(micros).toFixed(1).padStart(8)} µs`);
  }
} finally {
  await server.stop();
}
