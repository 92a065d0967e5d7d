/** Checks every shared-store backend must pass, run by each backend's tests on a real server. */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import fc from "fast-check";
import type { ThrottleBackend } from "../../src/backends/base.js";
import type { DecisionMode, DecisionRequest } from "../../src/backends/types.js";
import { Rate } from "../../src/rate.js";
import type { Step, Strategy, StrategyState } from "../../src/strategies/strategy.js";
import { allStrategies, clockArb, rateArb, traceArb } from "../strategies/harness.js";

const run = promisify(execFile);

/**
 * Four OS processes fire 60 decisions each, at once, at one key per strategy; together they
 * must admit exactly the strategy's capacity. `redisClient`: the Redis backend's client library
 * (see test/support/redis-clients.ts).
 */
export async function assertNoOverAdmission(
  kind: "redis" | "memcached" | "custom",
  address: string,
  redisClient = "ioredis",
): Promise<void> {
  const worker = join(import.meta.dirname, "race-worker.ts");
  const outputs = await Promise.all(
    [0, 1, 2, 3].map(() =>
      run(process.execPath, ["--import", "tsx", worker, kind, address, "60", redisClient], {
        encoding: "utf8",
      }),
    ),
  );
  const totals: Record<string, number> = {};
  for (const { stdout } of outputs) {
    for (const [uid, count] of Object.entries(JSON.parse(stdout) as Record<string, number>)) {
      totals[uid] = (totals[uid] ?? 0) + count;
    }
  }
  const rate = Rate.parse("20/h");
  allStrategies().forEach((strategy, index) => {
    assert.equal(
      totals[`s${index}`],
      strategy.capacity(rate),
      `${strategy.name}: 240 requests, capacity ${strategy.capacity(rate)}`,
    );
  });
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
