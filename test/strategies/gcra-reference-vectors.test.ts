import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Rate } from "../../src/rate.js";
import { GCRAStrategy, TokenBucketStrategy } from "../../src/strategies/index.js";
import type { Step, Strategy, StrategyState } from "../../src/strategies/strategy.js";
import {
  type Call,
  type Expected,
  redisCellCommand,
  redisCellItRateLimits,
  rwzSpecs,
  type Scenario,
  throttledTestRateLimit,
} from "./reference-vectors.js";

// The published vectors (see reference-vectors.ts for their sources and the parameter mapping),
// replayed through the pure strategies as a backend runs them: one state per key, kept only
// when a charging request is admitted. Each table runs from a clock near 0, as the references
// mostly do, and from the epoch clocks production uses (Redis's TIME is epoch milliseconds), with
// the same offsets: the answers must not depend on where the clock stands.
const CLOCKS: readonly [string, number][] = [
  ["near 0", 0],
  ["at the issue's epoch 1.7e12", 1_700_000_000_000],
  ["at today's epoch", 1_764_633_600_000],
  ["at 2^45 ms less a day", 2 ** 45 - 86_400_000],
];

// The token bucket of `burstSize` b makes the same decisions as GCRA of burst b, and reports
// the same remaining units, waits and time to full: every vector carries over.
const STRATEGIES: readonly [string, (burst: number) => Strategy][] = [
  ["GCRAStrategy({ burst })", (burst) => new GCRAStrategy({ burst })],
  [
    "TokenBucketStrategy({ burstSize: burst })",
    (burst) => new TokenBucketStrategy({ burstSize: burst }),
  ],
];

const TABLES: readonly [string, readonly Scenario[]][] = [
  ["brandur/redis-cell it_rate_limits", [redisCellItRateLimits]],
  ["brandur/redis-cell CL.THROTTLE replies (README, e2e)", redisCellCommand],
  ["throttled/throttled TestRateLimit", [throttledTestRateLimit]],
  ["rwz/redis-gcra specs", rwzSpecs],
];

/** What Traffik answers, in the reference's vocabulary (see reference-vectors.ts). */
interface Observed {
  limited: boolean;
  remaining: number;
  retryAfterMs: number;
  resetAfterMs: number;
}

function observe(step: Step): Observed {
  const { allowed, remaining, retryAfterMs, resetAfterMs } = step;
  return { limited: !allowed, remaining, retryAfterMs, resetAfterMs };
}

/** rwz's peek: the stored state's remaining units and reset; a cost-1 request's verdict and wait. */
function observePeek(
  strategy: Strategy,
  state: StrategyState | undefined,
  now: number,
  scenario: Scenario,
) {
  const asIs = strategy.apply(state, now, 0, scenario.rate);
  const next = strategy.apply(state, now, 1, scenario.rate);
  return {
    limited: !next.allowed,
    remaining: asIs.remaining,
    retryAfterMs: next.retryAfterMs,
    resetAfterMs: asIs.resetAfterMs,
  };
}

/** Times as the reference states them: whole ms (or whole seconds) rounded up. */
function inResolution(ms: number, scenario: Scenario): number {
  return Math.ceil(ms / scenario.resolutionMs) * scenario.resolutionMs;
}

/**
 * The fields the reference asserts, side by side with Traffik's. The `remaining` of a cost beyond
 * the burst is left out: the references disagree on it (redis-cell and throttled report the full
 * burst, rwz 0), and Traffik's choice is an open question of issue 20.
 */
function compared(expected: Expected, observed: Observed, call: Call, scenario: Scenario) {
  const actual: Partial<Observed> = { limited: observed.limited };
  const wanted: Partial<Observed> = { limited: expected.limited };
  if (expected.remaining !== undefined && call.cost <= scenario.burst) {
    actual.remaining = observed.remaining;
    wanted.remaining = expected.remaining;
  }
  if (expected.retryAfterMs !== undefined) {
    actual.retryAfterMs = inResolution(observed.retryAfterMs, scenario);
    wanted.retryAfterMs = inResolution(expected.retryAfterMs, scenario);
  }
  if (expected.resetAfterMs !== undefined) {
    actual.resetAfterMs = inResolution(observed.resetAfterMs, scenario);
    wanted.resetAfterMs = inResolution(expected.resetAfterMs, scenario);
  }
  return { actual, wanted };
}

function replay(strategy: Strategy, scenario: Scenario, start: number): void {
  const states = new Map<string, StrategyState>();
  for (const call of scenario.calls) {
    const key = call.key ?? "foo";
    const now = start + call.atMs;
    let observed: Observed | undefined;
    for (let time = 0; time < (call.times ?? 1); time++) {
      if (call.peek === true) {
        observed = observePeek(strategy, states.get(key), now, scenario);
        continue;
      }
      const step = strategy.apply(states.get(key), now, call.cost, scenario.rate);
      if (step.allowed) states.set(key, step.state);
      observed = observe(step);
    }
    if (call.expect === undefined || observed === undefined) continue;
    const { actual, wanted } = compared(call.expect, observed, call, scenario);
    assert.deepEqual(actual, wanted, `call ${call.id} at +${call.atMs} ms, cost ${call.cost}`);
  }
}

for (const [tableName, scenarios] of TABLES) {
  describe(`reference vectors: ${tableName}`, () => {
    for (const [strategyName, strategyFor] of STRATEGIES) {
      for (const scenario of scenarios) {
        for (const [clockName, start] of CLOCKS) {
          it(`${strategyName}: ${scenario.name}, ${clockName}`, () => {
            replay(strategyFor(scenario.burst), scenario, start);
          });
        }
      }
    }
  });
}

// Derived from the same tables: at one instant the decisions and remaining units do not depend
// on the rate (k units taken from a burst of b leave b - k, whatever the interval), so the calls a
// reference makes at its start instant carry over to any rate. Replayed at rates issue 20 found
// locking clients out, whose emission intervals are not whole milliseconds; their times scale
// with the interval and are not compared here.
const FRACTIONAL_RATES = ["6/s", "7/s", "7/10s"].map((text) => Rate.parse(text));

function atStartInstant(scenario: Scenario, rate: Rate): Scenario {
  const calls: Call[] = [];
  for (const call of scenario.calls) {
    if (call.atMs !== 0) break;
    const { expect } = call;
    calls.push(
      expect === undefined
        ? call
        : { ...call, expect: { limited: expect.limited, remaining: expect.remaining } },
    );
  }
  return { ...scenario, name: `${scenario.name}, start instant, at ${rate}`, rate, calls };
}

// A GCRA that added fractional intervals to epoch times in floating point misjudged these
// replays: it rejected fresh clients and under-counted remaining units at epoch clocks.
for (const [tableName, scenarios] of TABLES) {
  describe(`reference vectors at fractional intervals: ${tableName}`, () => {
    for (const [strategyName, strategyFor] of STRATEGIES) {
      for (const scenario of scenarios) {
        for (const rate of FRACTIONAL_RATES) {
          const derived = atStartInstant(scenario, rate);
          for (const [clockName, start] of CLOCKS) {
            const strategy = strategyFor(derived.burst);
            it(`${strategyName}: ${derived.name}, ${clockName}`, () => {
              replay(strategy, derived, start);
            });
          }
        }
      }
    }
  });
}
