import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { stepFrom, toSteps } from "../../../src/backends/redis/replies.js";

describe("stepFrom", () => {
  it("reads a decision, with no state", () => {
    assert.deepEqual(stepFrom([1, 3, 0, 1000, 0, 0], 0), {
      state: [],
      allowed: true,
      remaining: 3,
      retryAfterMs: 0,
      resetAfterMs: 1000,
      delayMs: 0,
    });
    assert.equal(stepFrom([0, 0, "inf", 20, 0, 0], 0).retryAfterMs, Number.POSITIVE_INFINITY);
  });

  it("reads the state after a decision that waits: what giving its place back compares", () => {
    const step = stepFrom([1, 1, 0, 7_200_000, 3_600_000, "1764640800123,2"], 0);
    assert.equal(step.delayMs, 3_600_000);
    assert.deepEqual(step.state, [1_764_640_800_123, 2]);
  });
});

describe("toSteps", () => {
  it("reads each request's six values in turn, a number that is not whole as text", () => {
    const steps = toSteps([1, 2, 0, 500, 0, 0, 0, 0, "12.5", "1e+300", 0, 0]);
    assert.equal(steps.length, 2);
    assert.deepEqual(
      steps.map((s) => [s.allowed, s.remaining, s.retryAfterMs, s.resetAfterMs]),
      [
        [true, 2, 0, 500],
        [false, 0, 12.5, 1e300],
      ],
    );
  });
});
