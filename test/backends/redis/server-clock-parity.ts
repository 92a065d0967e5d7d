/**
 * Parity on the production clock path: no test clock, so the decision script reads the
 * server's TIME. Nothing in the test process can tell when the script decided, but the server
 * bounds it: the test reads the server's TIME before it sends a decision, and after the answer
 * reads it again with the state the decision left, in one transaction. The script's clock lies
 * between the two reads (one server, one clock), so the TypeScript strategy, applied to the
 * state Redis held before, must give the same step at some whole millisecond of that interval,
 * and leave the very state Redis now holds. A stall of the test process only widens the
 * interval; it never changes a verdict.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import type { Redis } from "ioredis";
import type { ThrottleBackend } from "../../../src/backends/base.js";
import { stateKey } from "../../../src/backends/redis/keys.js";
import { decodeState, sameState } from "../../../src/backends/state-codec.js";
import { Rate } from "../../../src/rate.js";
import type { Step, Strategy, StrategyState } from "../../../src/strategies/strategy.js";
import { decideVia, type Via } from "../shared-checks.js";

/** Windows of 1 to 40 ms: real time crosses many of them during a trace. */
const rateArb = fc
  .record({ limit: fc.integer({ min: 1, max: 8 }), windowMs: fc.integer({ min: 1, max: 40 }) })
  .map(({ limit, windowMs }) => new Rate({ limit, milliseconds: windowMs }));

/** Costs from 0 (a peek) to 5, some beyond a small rate's capacity. */
const costsArb = fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 1, maxLength: 30 });

const FIELDS = ["allowed", "remaining", "retryAfterMs", "resetAfterMs", "delayMs"] as const;

/** The server's clock in ms, to the microsecond, from what `TIME` answers. */
const serverMs = ([seconds, micros]: readonly (string | number | undefined)[]): number =>
  Number(seconds) * 1000 + Number(micros) / 1000;

let runs = 0;

/**
 * Drives `backend` (on the server's clock) with random costs for one client of `strategy` and
 * requires each step to be the TypeScript strategy's at some moment between two reads of the
 * server's TIME around it (see above). `namespace` is the backend's.
 */
export async function assertSameDecisionsOnServerClock(options: {
  readonly backend: ThrottleBackend;
  readonly admin: Redis;
  readonly namespace: string;
  readonly strategy: Strategy;
  readonly via: Via;
  readonly numRuns: number;
}): Promise<void> {
  const { backend, admin, strategy, via } = options;
  await fc.assert(
    fc.asyncProperty(rateArb, costsArb, async (rate, costs) => {
      const identity = `live-${runs++}`;
      const key = `${options.namespace}:${stateKey("p", identity)}`;
      let stored: string | null = null;
      for (const cost of costs) {
        const mode = cost === 0 ? "peek" : "consume";
        const before = serverMs(await admin.time());
        const actual = await decideVia(
          via,
          backend,
          { uid: "p", identity, strategy, rate, cost },
          mode,
        );
        const replies = (await admin.multi().get(key).time().exec()) as [
          [null, string | null],
          [null, [string, string]],
        ];
        const after = serverMs(replies[1][1]);
        const now = replies[0][1];
        const held = decodeState(stored);
        const at = matchingMoment(strategy, held, rate, cost, mode, actual, now, before, after);
        assert.ok(
          at !== undefined,
          `${JSON.stringify(actual)} for cost ${cost} at ${rate}, state ${stored} then ${now}, is no step of ${strategy.name} between ${before} and ${after}`,
        );
        stored = now;
      }
    }),
    { numRuns: options.numRuns },
  );
}

/**
 * A whole millisecond from `before` to `after` at which the strategy, from `held`, takes the
 * step `actual` and leaves what Redis now holds (`now`, its stored state): the admitted state
 * after a consume, else the state as it was (or none, once Redis has expired a dead state).
 */
function matchingMoment(
  strategy: Strategy,
  held: StrategyState | undefined,
  rate: Rate,
  cost: number,
  mode: "consume" | "peek",
  actual: Step,
  now: string | null,
  before: number,
  after: number,
): number | undefined {
  const holds = decodeState(now);
  for (let t = Math.floor(before); t <= Math.floor(after); t++) {
    const expected = strategy.apply(held, t, cost, rate);
    if (FIELDS.some((field) => expected[field] !== actual[field])) continue;
    const written = mode === "consume" && expected.allowed;
    if (written ? sameState(holds, expected.state) : unchanged(held, holds, after)) return t;
  }
  return undefined;
}

/** Whether Redis still holds `held`, or dropped it only once it had expired. */
function unchanged(
  held: StrategyState | undefined,
  holds: StrategyState | undefined,
  after: number,
): boolean {
  if (held === undefined) return holds === undefined;
  return holds === undefined ? (held[0] as number) <= after : sameState(holds, held);
}
