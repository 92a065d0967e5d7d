/**
 * The queueing leaky bucket gives an abandoned request's place back: the state `release`
 * makes from the one an admitted request left decides every later request exactly as the
 * state before that request would have, on any clock.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { Rate } from "../../src/rate.js";
import { LeakyBucketWithQueueStrategy } from "../../src/strategies/index.js";
import type { Step, StrategyState } from "../../src/strategies/strategy.js";
import { clockArb, rateArb, run, traceArb } from "./harness.js";

/** What a caller is told of a step; a rejection's state is whatever it was given. */
const told = (step: Step) => ({
  allowed: step.allowed,
  remaining: step.remaining,
  retryAfterMs: step.retryAfterMs,
  resetAfterMs: step.resetAfterMs,
  delayMs: step.delayMs,
});

/** Later arrivals, whole-ms gaps from the abandoned request's decision on. */
const laterArb = fc.array(
  fc.record({ gapMs: fc.integer({ min: 0, max: 20_000 }), cost: fc.integer({ min: 1, max: 4 }) }),
  { minLength: 1, maxLength: 40 },
);

/** Decides `later` from `state` at `now`, storing admitted states; returns what each was told. */
function decideLater(
  strategy: LeakyBucketWithQueueStrategy,
  rate: Rate,
  state: StrategyState | undefined,
  now: number,
  later: readonly { gapMs: number; cost: number }[],
) {
  let current = state;
  let at = now;
  return later.map(({ gapMs, cost }) => {
    at += gapMs;
    const step = strategy.apply(current, at, Math.min(cost, strategy.capacity(rate)), rate);
    if (step.allowed) current = step.state;
    return told(step);
  });
}

describe("LeakyBucketWithQueueStrategy.release", () => {
  it("decides every later request as if the released request had never come", () => {
    fc.assert(
      fc.property(
        rateArb,
        fc.option(fc.integer({ min: 0, max: 6 }), { nil: undefined }),
        clockArb,
        traceArb,
        fc.integer({ min: 1, max: 7 }),
        laterArb,
        (rate, queueSize, start, trace, cost, later) => {
          const strategy = new LeakyBucketWithQueueStrategy({ queueSize });
          const before = run(strategy, rate, trace, start);
          const now = Math.floor(before.now);
          const units = Math.min(cost, strategy.capacity(rate));
          const step = strategy.apply(before.state, now, units, rate);
          fc.pre(step.allowed);
          const released = strategy.release(step.state, units, rate);
          assert.ok(Number.isSafeInteger(released[0]) && Number.isSafeInteger(released[1]));
          assert.ok((released[1] as number) >= 0 && (released[1] as number) < rate.limit);
          assert.deepEqual(
            decideLater(strategy, rate, released, now, later),
            decideLater(strategy, rate, before.state, now, later),
          );
        },
      ),
      { numRuns: 500 },
    );
  });

  it("gives back exactly the place: the next request waits what the released one did", () => {
    const strategy = new LeakyBucketWithQueueStrategy({ queueSize: 3 });
    const rate = new Rate({ limit: 3, milliseconds: 1000 });
    const now = 1_764_633_600_123;
    let state: StrategyState | undefined;
    for (let i = 0; i < 2; i++) state = strategy.apply(state, now, 1, rate).state;
    const third = strategy.apply(state, now, 1, rate);
    assert.equal(third.delayMs, 667, "two units ahead at 1/3 s each");
    const next = strategy.apply(strategy.release(third.state, 1, rate), now, 1, rate);
    assert.equal(next.delayMs, third.delayMs);
    assert.deepEqual(next.state, third.state);
  });
});
