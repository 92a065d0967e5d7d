/**
 * One process of the in-memory bench's interleaved figures (run by `bench/inmemory.ts`):
 * `HTTPThrottle.hit` on real `IncomingMessage`s beside rate-limiter-flexible's
 * `RateLimiterMemory.consume` and express-rate-limit's bare `MemoryStore.increment`, in
 * interleaved slices, so the machine's drift hits every contender alike. Each contender has a
 * loop of its own (compiled apart), so no contender's calls shape another's loop. Prints, as
 * JSON, each contender's decisions per second per round and its ratio to rate-limiter-flexible
 * in the same round. Rates are decisions per CPU second of this process (GC threads included).
 *
 *   node --import tsx bench/inmemory-interleaved.ts <strategy | mixed>
 *
 * A strategy's process holds that strategy's throttle only; `mixed` holds a throttle of every
 * strategy on one backend, as an app with several throttles does, plus a contender that takes
 * them in turn, one decision each. The peers get their keys as ready strings (the most they
 * could be asked to do); Traffik reads the request. `rlf-request` is rate-limiter-flexible
 * given `req.socket.remoteAddress`, as an app would write it: the share of the gap that reading
 * the request (cold memory: request, socket, its peer address) makes.
 */
import { execFileSync } from "node:child_process";
import type { IncomingMessage } from "node:http";
import { fileURLToPath } from "node:url";
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
  type Strategy,
  TokenBucketStrategy,
  TokenBucketWithDebtStrategy,
} from "traffik/strategies";
import { openRequests } from "./real-requests.js";
import { median } from "./support.js";

/** Every strategy, by the name the bench prints. */
export const STRATEGIES: Record<string, () => Strategy> = {
  "fixed-window": () => new FixedWindowStrategy(),
  "sliding-window-counter": () => new SlidingWindowCounterStrategy(),
  "sliding-window-log": () => new SlidingWindowLogStrategy(),
  "token-bucket": () => new TokenBucketStrategy(),
  "token-bucket-with-debt": () => new TokenBucketWithDebtStrategy(),
  "leaky-bucket": () => new LeakyBucketStrategy(),
  "leaky-bucket-with-queue": () => new LeakyBucketWithQueueStrategy(),
  gcra: () => new GCRAStrategy(),
};
/** The strategies measured in a flood of rejections too. */
export const REJECTING = ["fixed-window", "token-bucket", "gcra"];

const KEYS = Number(process.env.BENCH_KEYS ?? 4000);
const SLICE = Number(process.env.BENCH_SLICE ?? 50_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 12);
const LIMIT = 1_000_000_000;
/** 10 per minute per client: nearly every decision of the flood is a rejection. */
const REJECTING_LIMIT = 10;

type Decide = (i: number) => Promise<unknown>;
type Loop = (decide: Decide, from: number, count: number, keys: number) => Promise<void>;

/** A loop compiled on its own, so that its call site sees one contender only. */
function ownLoop(): Loop {
  const AsyncFunction = (async () => {}).constructor as new (...body: string[]) => Loop;
  return new AsyncFunction(
    "decide",
    "from",
    "count",
    "keys",
    "for (let i = from; i < from + count; i++) await decide(i % keys);",
  );
}

async function main(which: string): Promise<void> {
  const { requests, addresses, close } = await openRequests(KEYS);
  const backend = new InMemoryBackend({ namespace: "bench" });
  const contenders = new Map<string, Decide>();
  const rlf = new RateLimiterMemory({ points: LIMIT, duration: 60 });
  contenders.set("rlf", (i) => rlf.consume(addresses[i] as string));
  // What an app writes with it: the key read from the request, as Traffik must.
  contenders.set("rlf-request", (i) =>
    rlf.consume((requests[i] as IncomingMessage).socket.remoteAddress as string),
  );
  const erl = new MemoryStore();
  erl.init({ windowMs: 60_000 } as never);
  contenders.set("erl", (i) => erl.increment(addresses[i] as string));
  const throttleOf = (name: string, limit: number) =>
    new HTTPThrottle({
      uid: `${name}-${limit}`,
      rate: `${limit}/m`,
      strategy: (STRATEGIES[name] as () => Strategy)(),
      backend,
    });
  const names = which === "mixed" ? Object.keys(STRATEGIES) : [which];
  const throttles = names.map((name) => throttleOf(name, LIMIT));
  names.forEach((name, n) => {
    const throttle = throttles[n] as HTTPThrottle;
    contenders.set(`traffik:${name}`, (i) => throttle.hit(requests[i] as never));
  });
  if (which === "mixed") {
    contenders.set("traffik:all-in-turn", (i) =>
      (throttles[i % throttles.length] as HTTPThrottle).hit(requests[i] as never),
    );
  } else if (REJECTING.includes(which)) {
    const limited = new RateLimiterMemory({ points: REJECTING_LIMIT, duration: 60 });
    contenders.set("rlf-rejecting", (i) =>
      limited.consume(addresses[i] as string).catch(() => undefined),
    );
    const throttle = throttleOf(which, REJECTING_LIMIT);
    contenders.set(`traffik-rejecting:${which}`, (i) =>
      throttle.hit(requests[i] as never).catch(() => undefined),
    );
  }
  const loops = new Map([...contenders.keys()].map((name) => [name, ownLoop()]));
  const rates: Record<string, number[]> = {};
  const ratios: Record<string, number[]> = {};
  for (const name of contenders.keys()) {
    rates[name] = [];
    ratios[name] = [];
  }
  let from = 0;
  // Round 0 warms up every contender and is left out.
  for (let round = 0; round <= ROUNDS; round++) {
    const names = [...contenders.keys()];
    const order = names.map((_, i) => names[(i + round) % names.length] as string);
    const roundRates = new Map<string, number>();
    for (const name of order) {
      // CPU time, not wall time: on a shared machine, the time this process waits for a core
      // is not its contender's, and swung wall-time ratios by 5x from slice to slice.
      const started = process.cpuUsage();
      await (loops.get(name) as Loop)(contenders.get(name) as Decide, from, SLICE, KEYS);
      const { user, system } = process.cpuUsage(started);
      roundRates.set(name, SLICE / ((user + system) / 1e6));
      from += SLICE;
    }
    if (round === 0) continue;
    for (const [name, rate] of roundRates) {
      const base = name.startsWith("traffik-rejecting:") ? "rlf-rejecting" : "rlf";
      rates[name]?.push(rate);
      ratios[name]?.push(rate / (roundRates.get(base) as number));
    }
  }
  await close();
  await backend.close();
  console.log(JSON.stringify({ rates, ratios }));
}

interface ProcessFigures {
  readonly rates: Record<string, number[]>;
  readonly ratios: Record<string, number[]>;
}

/** Runs one process of figures (a strategy's, or `mixed`) and reads what it printed. */
function runProcess(which: string): ProcessFigures {
  const output = execFileSync(
    process.execPath,
    ["--import", "tsx", fileURLToPath(import.meta.url), which],
    { encoding: "utf8" },
  );
  return JSON.parse(output) as ProcessFigures;
}

const mps = (rate: number) => `${(rate / 1e6).toFixed(2)} M/s`;
const spread = (values: readonly number[]) =>
  `${Math.min(...values).toFixed(2)}–${Math.max(...values).toFixed(2)}`;

/**
 * One line: a contender's median rate, its median ratio to RLF (round range), and, for
 * Traffik, to ERL's store and to RLF reading its key from the request as Traffik does.
 */
function line(label: string, figures: ProcessFigures, name: string, peers = true): string {
  const rates = figures.rates[name] ?? [];
  const ratios = figures.ratios[name] ?? [];
  const toErl = (figures.ratios.erl ?? []).map((e, i) => (ratios[i] as number) / e);
  const toReading = (figures.ratios["rlf-request"] ?? []).map((r, i) => (ratios[i] as number) / r);
  const against = `   ${median(toErl).toFixed(2)}x ERL store   ${median(toReading).toFixed(2)}x RLF reading the request`;
  return `  ${label.padEnd(34)} ${mps(median(rates)).padStart(10)}   ${median(ratios).toFixed(2)}x RLF (rounds ${spread(ratios)})${peers ? against : ""}`;
}

/**
 * The interleaved figures: one process per strategy, then the mixed process; prints, per
 * contender, its median rate and its median ratio to rate-limiter-flexible over the rounds.
 */
export function printInterleaved(): void {
  console.log(
    `HTTPThrottle.hit on real IncomingMessages (${KEYS} loopback clients), interleaved with the peers in slices of ${SLICE}, ${ROUNDS} rounds; decisions per CPU second, and the ratio per round to RateLimiterMemory.consume, median:`,
  );
  for (const name of Object.keys(STRATEGIES)) {
    const figures = runProcess(name);
    if (name === "fixed-window") {
      console.log(line("rate-limiter-flexible consume", figures, "rlf", false));
      console.log(line("express-rate-limit MemoryStore", figures, "erl", false));
      console.log(line("RLF, key read from the request", figures, "rlf-request", false));
    }
    console.log(line(`Traffik ${name}`, figures, `traffik:${name}`));
    if (REJECTING.includes(name)) {
      console.log(
        line(`  rejecting (RLF rejecting too)`, figures, `traffik-rejecting:${name}`, false),
      );
    }
  }
  const mixed = runProcess("mixed");
  console.log("  mixed: every strategy's throttle in one process, one backend:");
  for (const name of [...Object.keys(STRATEGIES), "all-in-turn"]) {
    console.log(line(`  ${name}`, mixed, `traffik:${name}`));
  }
}

// Run as a script (not imported for its strategy list).
if (process.argv[1] === fileURLToPath(import.meta.url)) await main(process.argv[2] ?? "mixed");
