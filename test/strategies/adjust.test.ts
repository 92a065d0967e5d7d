/**
 * `Strategy.adjust`, the penalty and reward behind `throttle.penalty` / `reward`, for every
 * strategy on an injected clock: states stay well formed, a penalty takes exactly its points
 * (down to nothing left), a reward gives back at most its points and never more than the
 * capacity, and giving back what an admitted request took decides every later request as if
 * it had never come.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import type { Rate } from "../../src/rate.js";
import { Rate as RateClass } from "../../src/rate.js";
import {
  FixedWindowStrategy,
  TokenBucketStrategy,
  TokenBucketWithDebtStrategy,
} from "../../src/strategies/index.js";
import type { Step, Strategy, StrategyState } from "../../src/strategies/strategy.js";
import { allStrategies, clockArb, rateArb, run, traceArb } from "./harness.js";

const strategyArb = fc.constantFrom(...allStrategies());
const pointsArb = fc.integer({ min: 1, max: 30 });

/** What a caller is told of a step; a rejection's state is whatever it was given. */
const told = (step: Step) => ({
  allowed: step.allowed,
  remaining: step.remaining,
  retryAfterMs: step.retryAfterMs,
  resetAfterMs: step.resetAfterMs,
  delayMs: step.delayMs,
});

function adjust(
  strategy: Strategy,
  state: StrategyState | undefined,
  now: number,
  points: number,
  rate: Rate,
) {
  assert.ok(strategy.adjust, `${strategy.name} adjusts`);
  return strategy.adjust(state, now, points, rate);
}

/** What a peek (cost 0) reports as left. */
const left = (strategy: Strategy, state: StrategyState | undefined, now: number, rate: Rate) =>
  strategy.apply(state, now, 0, rate).remaining;

function assertWellFormed(strategy: Strategy, state: StrategyState, now: number, rate: Rate): void {
  assert.ok(state.length >= 1, `${strategy.name}: a state has its expiry`);
  for (const value of state) assert.ok(Number.isSafeInteger(value), `${strategy.name}: ${state}`);
  const peek = strategy.apply(state, now, 0, rate);
  assert.ok(peek.remaining >= 0 && peek.remaining <= strategy.capacity(rate), `${peek.remaining}`);
  assert.ok(peek.resetAfterMs >= 0 && Number.isSafeInteger(peek.resetAfterMs));
  const one = strategy.apply(state, now, 1, rate);
  assert.ok(one.allowed || (one.retryAfterMs > 0 && Number.isFinite(one.retryAfterMs)));
}

/** Later arrivals, whole-ms gaps on from the adjustment. */
const laterArb = fc.array(
  fc.record({ gapMs: fc.integer({ min: 0, max: 20_000 }), cost: fc.integer({ min: 1, max: 4 }) }),
  { minLength: 1, maxLength: 30 },
);

function decideLater(
  strategy: Strategy,
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

describe("Strategy.adjust", () => {
  it("every strategy adjusts", () => {
    for (const strategy of allStrategies()) assert.equal(typeof strategy.adjust, "function");
  });

  it("never leaves a malformed state, through any mix of requests, penalties and rewards", () => {
    fc.assert(
      fc.property(
        strategyArb,
        rateArb,
        clockArb,
        fc.array(
          fc.record({
            gapMs: fc.integer({ min: 0, max: 20_000 }),
            points: fc.integer({ min: -40, max: 40 }),
            request: fc.boolean(),
          }),
          { maxLength: 60 },
        ),
        (strategy, rate, start, moves) => {
          let state: StrategyState | undefined;
          let now = start;
          for (const { gapMs, points, request } of moves) {
            now += gapMs;
            if (request) {
              const step = strategy.apply(
                state,
                now,
                Math.min(Math.abs(points), strategy.capacity(rate)),
                rate,
              );
              if (step.allowed) state = step.state;
            } else {
              state = adjust(strategy, state, now, points, rate);
              assertWellFormed(strategy, state, now, rate);
            }
          }
        },
      ),
      { numRuns: 400 },
    );
  });

  it("a penalty takes exactly its points, down to nothing left", () => {
    fc.assert(
      fc.property(
        strategyArb,
        rateArb,
        clockArb,
        traceArb,
        pointsArb,
        (strategy, rate, start, trace, points) => {
          const { state, now } = run(strategy, rate, trace, start);
          const t = Math.floor(now);
          const before = left(strategy, state, t, rate);
          const after = left(strategy, adjust(strategy, state, t, points, rate), t, rate);
          assert.equal(after, Math.max(0, before - points));
        },
      ),
      { numRuns: 400 },
    );
  });

  it("a reward gives back at most its points, never past the capacity", () => {
    fc.assert(
      fc.property(
        strategyArb,
        rateArb,
        clockArb,
        traceArb,
        pointsArb,
        (strategy, rate, start, trace, points) => {
          const { state, now } = run(strategy, rate, trace, start);
          const t = Math.floor(now);
          const before = left(strategy, state, t, rate);
          const after = left(strategy, adjust(strategy, state, t, -points, rate), t, rate);
          assert.ok(after >= before, `${after} >= ${before}`);
          assert.ok(after <= Math.min(strategy.capacity(rate), before + points), `${after}`);
        },
      ),
      { numRuns: 400 },
    );
  });

  it("giving back what an admitted request took decides later requests as if it never came", () => {
    fc.assert(
      fc.property(
        strategyArb,
        rateArb,
        clockArb,
        traceArb,
        fc.integer({ min: 1, max: 4 }),
        laterArb,
        (strategy, rate, start, trace, wanted, later) => {
          const { state, now } = run(strategy, rate, trace, start);
          const t = Math.floor(now);
          const cost = Math.min(wanted, strategy.capacity(rate));
          const step = strategy.apply(state, t, cost, rate);
          fc.pre(step.allowed);
          const refunded = adjust(strategy, [...step.state], t, -cost, rate);
          assert.deepEqual(
            decideLater(strategy, rate, refunded, t, later),
            decideLater(strategy, rate, state, t, later),
          );
        },
      ),
      { numRuns: 400 },
    );
  });

  it("a bucket's penalty goes into debt: the client waits past a full refill", () => {
    const rate = RateClass.parse("10/s");
    for (const strategy of [
      new TokenBucketStrategy(),
      new TokenBucketWithDebtStrategy({ maxDebt: 5 }),
    ]) {
      const now = 1_000_000;
      const state = adjust(strategy, undefined, now, strategy.capacity(rate) + 10, rate);
      const step = strategy.apply(state, now, 1, rate);
      assert.equal(step.allowed, false);
      // 10 tokens of debt plus the one asked for, at 10 a second.
      assert.equal(step.retryAfterMs, 1_100);
    }
  });

  it("a penalty never shuts a client out for good: at most one bucket past empty", () => {
    const rate = RateClass.parse("10/s");
    const strategy = new TokenBucketStrategy();
    const state = adjust(strategy, undefined, 0, Number.MAX_SAFE_INTEGER, rate);
    assert.equal(strategy.apply(state, 0, 1, rate).retryAfterMs, 1_100);
  });

  it("a fixed window's penalty fills the window until it ends", () => {
    const rate = RateClass.parse("5/s");
    const strategy = new FixedWindowStrategy();
    const state = adjust(strategy, undefined, 10_250, 50, rate);
    assert.deepEqual(state, [11_000, 5]);
    const step = strategy.apply(state, 10_250, 1, rate);
    assert.equal(step.allowed, false);
    assert.equal(step.retryAfterMs, 750);
  });
});
