import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { stepFrom } from "../../../src/backends/redis/replies.js";

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
