/** Checks every shared-store backend must pass, run by each backend's tests on a real server. */
import assert from "node:assert/strict";
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { createInterface } from "node:readline";
import fc from "fast-check";
import type { ThrottleBackend } from "../../src/backends/base.js";
import type { DecisionMode, DecisionRequest } from "../../src/backends/types.js";
import { Rate } from "../../src/rate.js";
import type { Step, Strategy, StrategyState } from "../../src/strategies/strategy.js";
import { allStrategies, clockArb, rateArb, traceArb } from "../strategies/harness.js";

/** The next line `child` prints, or an error with what it wrote to stderr if it exits first. */
function lineReader(child: ChildProcessWithoutNullStreams): () => Promise<string> {
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  return async () => {
    const line = await lines.next();
    if (line.done) throw new Error(`race worker exited: ${stderr}`);
    return line.value;
  };
}

/** The backends `race-worker.ts` opens, and what `address` is for each. */
export type RaceKind = "redis" | "memcached" | "custom" | "postgres" | "sqlite";

/**
 * Four OS processes (`race-worker.ts`), started together, fire `rounds` decisions each at
 * once at one key per strategy; together they must admit exactly the strategy's capacity.
 * `address` is the server's (a URL, or memcached's host:port) or SQLite's file.
 * `redisClient`: the Redis backend's client library (see test/support/redis-clients.ts).
 */
export async function assertNoOverAdmission(
  kind: RaceKind,
  address: string,
  redisClient = "ioredis",
  rounds = 60,
): Promise<void> {
  const worker = join(import.meta.dirname, "race-worker.ts");
  const children = [0, 1, 2, 3].map(() =>
    spawn(process.execPath, [
      "--import",
      "tsx",
      worker,
      kind,
      address,
      String(rounds),
      redisClient,
    ]),
  );
  try {
    const readers = children.map(lineReader);
    for (const read of readers) assert.equal(await read(), "ready");
    for (const child of children) child.stdin.write("go\n");
    const counts = await Promise.all(readers.map(async (read) => JSON.parse(await read())));
    const totals: Record<string, number> = {};
    for (const count of counts as Record<string, number>[]) {
      for (const [uid, n] of Object.entries(count)) totals[uid] = (totals[uid] ?? 0) + n;
    }
    const rate = Rate.parse("20/h");
    allStrategies().forEach((strategy, index) => {
      assert.equal(
        totals[`s${index}`],
        strategy.capacity(rate),
        `${strategy.name}: ${4 * rounds} requests, capacity ${strategy.capacity(rate)}`,
      );
    });
    await Promise.all(
      children.map((child) => (child.exitCode === null ? once(child, "exit") : undefined)),
    );
  } finally {
    for (const child of children) if (child.exitCode === null) child.kill();
  }
}

let runs = 0;

/**
 * Drives `backend` and the TypeScript `strategy` with the same random traces, at the same
 * `now` (set through `setNow`, which the backend's test clock reads), and requires the `fields`
 * of every step to agree. `via` chooses how each request is sent, as a backend may decide
 * each way on a path of its own: alone, as a group of one, or in a batch, made at once with a
 * neighbour's request.
 */
export async function assertSameDecisions(
  backend: ThrottleBackend,
  strategy: Strategy,
  setNow: (now: number) => void,
  fields: readonly (keyof Step)[],
  numRuns: number,
  via: Via = "alone",
): Promise<void> {
  await fc.assert(
    fc.asyncProperty(rateArb, traceArb, clockArb, async (rate, trace, start) => {
      const identity = `client-${runs++}`;
      let state: StrategyState | undefined;
      // Clocks from 0 to 2^45, with a fraction of a ms, which both sides floor.
      let now = start + (runs % 977) * 0.37;
      for (const { gapMs, cost } of trace) {
        now += gapMs;
        setNow(now);
        if (cost > strategy.capacity(rate)) continue;
        const expected = strategy.apply(state, now, cost, rate);
        if (expected.allowed && cost > 0) state = expected.state;
        const mode = cost === 0 ? "peek" : "consume";
        const actual = await decideVia(
          via,
          backend,
          { uid: "p", identity, strategy, rate, cost },
          mode,
        );
        const pick = (step: Step) => fields.map((field) => step[field]);
        assert.deepEqual(pick(actual), pick(expected), `at ${now} with cost ${cost}`);
        // A state the backend reports is what giving a place back compares with: it is exact.
        if (strategy.release !== undefined && actual.allowed && actual.state.length > 0) {
          assert.deepEqual(actual.state, expected.state, `the state at ${now}`);
        }
      }
    }),
    { numRuns },
  );
}

/** How a test sends a request: see {@link decideVia}. */
export type Via = "alone" | "group" | "batch";

/**
 * Decides `request` alone, as a group of one, or in a batch: made at once with a neighbour's
 * request (another identity), which goes first.
 */
export async function decideVia(
  via: Via,
  backend: ThrottleBackend,
  request: DecisionRequest,
  mode: DecisionMode,
): Promise<Step> {
  if (via === "group") return (await backend.decideAll([request], mode))[0] as Step;
  if (via === "alone") return backend.decide(request, mode);
  const neighbour = { ...request, identity: `${request.identity}-neighbour` };
  const [, step] = await Promise.all([
    backend.decide(neighbour, mode),
    backend.decide(request, mode),
  ]);
  return step;
}
