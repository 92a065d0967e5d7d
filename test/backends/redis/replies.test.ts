import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fixedWindowStep, stepFrom } from "../../../src/backends/redis/replies.js";
import { Rate } from "../../../src/rate.js";
import { FixedWindowStrategy } from "../../../src/strategies/fixed-window.js";
import type { Step } from "../../../src/strategies/strategy.js";

/** A step less its next state, which Redis keeps and the client never sees. */
const decision = ({ state: _, ...rest }: Step) => rest;

describe("fixedWindowStep", () => {
  const rate = Rate.parse("10/m");
  const strategy = new FixedWindowStrategy();
  /** The strategy's step `reset` ms before the window ends, with `prior` units counted. */
  const expected = (prior: number, reset: number, cost: number, limit = rate) => {
    const windowEnd = 1_800_000_000_000;
    const state = prior > 0 ? [windowEnd, prior] : undefined;
    return decision(strategy.apply(state, windowEnd - reset, cost, limit));
  };
  const packed = (prior: number, reset: number, limit = rate) =>
    prior * (limit.windowMs + 1) + reset;

  it("unpacks the count and the wait from one integer", () => {
    assert.deepEqual(decision(fixedWindowStep(packed(4, 12_345), 1, rate)), expected(4, 12_345, 1));
    assert.deepEqual(decision(fixedWindowStep(packed(10, 1), 1, rate)), expected(10, 1, 1));
    // A whole window left, and a count of 0: the first request of a window.
    assert.deepEqual(decision(fixedWindowStep(packed(0, 60_000), 3, rate)), expected(0, 60_000, 3));
    assert.deepEqual(decision(fixedWindowStep(packed(9, 60_000), 2, rate)), expected(9, 60_000, 2));
  });

  it("unpacks exactly up to 2^53", () => {
    const huge = new Rate({ limit: 2 ** 53 - 1, days: 7 });
    const prior = Math.floor((2 ** 53 - 1) / (huge.windowMs + 1)) - 1;
    const step = fixedWindowStep(packed(prior, huge.windowMs, huge), 1, huge);
    assert.deepEqual(decision(step), expected(prior, huge.windowMs, 1, huge));
    assert.equal(step.remaining, huge.limit - prior - 1);
  });

  it("reads the text form: a pair too large to pack", () => {
    const huge = new Rate({ limit: 2 ** 53 - 1, minutes: 1 });
    assert.deepEqual(
      decision(fixedWindowStep("1000000000000,59999", 1, huge)),
      expected(1e12, 59_999, 1, huge),
    );
    // Lua writes a count of 1e15 or more with "%.0f" too, but anything but digits goes to Number.
    assert.deepEqual(decision(fixedWindowStep("1e+15,7", 1, huge)), expected(1e15, 7, 1, huge));
  });

  it("rejects a cost beyond the limit for good, waiting only for a window that holds units", () => {
    const empty = fixedWindowStep(packed(0, 30_000), 11, rate);
    assert.deepEqual(decision(empty), expected(0, 30_000, 11));
    assert.equal(empty.resetAfterMs, 0);
    assert.equal(empty.retryAfterMs, Number.POSITIVE_INFINITY);
    assert.deepEqual(
      decision(fixedWindowStep(packed(2, 30_000), 11, rate)),
      expected(2, 30_000, 11),
    );
    assert.equal(fixedWindowStep(packed(2, 30_000), 11, rate).resetAfterMs, 30_000);
    // What smaller requests could still take.
    assert.equal(fixedWindowStep(packed(2, 30_000), 11, rate).remaining, 8);
  });
});

describe("stepFrom", () => {
  it("reads a decision, with no state", () => {
    assert.deepEqual(stepFrom("1,3,0,1000,0"), {
      state: [],
      allowed: true,
      remaining: 3,
      retryAfterMs: 0,
      resetAfterMs: 1000,
      delayMs: 0,
    });
    assert.equal(stepFrom("0,0,inf,20,0").retryAfterMs, Number.POSITIVE_INFINITY);
  });

  it("reads the state after a decision that waits: what giving its place back compares", () => {
    const step = stepFrom("1,1,0,7200000,3600000,1764640800123,2");
    assert.equal(step.delayMs, 3_600_000);
    assert.deepEqual(step.state, [1_764_640_800_123, 2]);
  });
});
