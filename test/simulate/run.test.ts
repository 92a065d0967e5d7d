import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Rate } from "../../src/rate.js";
import { simulate, tally } from "../../src/simulate/run.js";
import { UsageError } from "../../src/simulate/usage-error.js";
import {
  FixedWindowStrategy,
  GCRAStrategy,
  LeakyBucketWithQueueStrategy,
} from "../../src/strategies/index.js";

describe("a simulation", () => {
  it("keeps the state of each admitted request, and tells each outcome and wait", () => {
    const rate = Rate.parse("2/s");
    const simulation = simulate(new FixedWindowStrategy(), rate, [0, 10, 20, 999, 1_000]);
    assert.deepEqual(
      simulation.requests.map(({ at, outcome, waitMs }) => [at, outcome, waitMs]),
      [
        [0, "admitted", 0],
        [10, "admitted", 0],
        [20, "rejected", 980],
        [999, "rejected", 1],
        [1_000, "admitted", 0],
      ],
    );
    assert.deepEqual(tally(simulation), { admitted: 3, queued: 0, rejected: 2 });
  });

  it("tells a queued request its delay", () => {
    const simulation = simulate(
      new LeakyBucketWithQueueStrategy({ queueSize: 1 }),
      Rate.parse("10/s"),
      [0, 0, 0],
    );
    assert.deepEqual(
      simulation.requests.map(({ outcome, waitMs }) => [outcome, waitMs]),
      [
        ["admitted", 0],
        ["queued", 100],
        ["rejected", 100],
      ],
    );
  });

  it("charges the cost given", () => {
    const simulation = simulate(new GCRAStrategy(), Rate.parse("4/s"), [0, 0, 0], 2);
    assert.deepEqual(tally(simulation), { admitted: 2, queued: 0, rejected: 1 });
  });

  for (const [cost, says] of [
    [0, /--cost: must be a whole number of at least 1, got 0/],
    [1.5, /--cost: must be a whole number of at least 1, got 1.5/],
    [3, /--cost: gcra:2 at 4\/1s never admits more than 2 at once, got 3/],
  ] as const) {
    it(`refuses a cost of ${cost}`, () => {
      assert.throws(
        () => simulate(new GCRAStrategy({ burst: 2 }), Rate.parse("4/s"), [0], cost),
        (error) => error instanceof UsageError && says.test(error.message),
      );
    });
  }

  it("refuses a strategy too large for exact arithmetic, as a throttle does", () => {
    assert.throws(
      () => simulate(new GCRAStrategy({ burst: 2 ** 40 }), Rate.parse("10/d"), [0]),
      (error) => error instanceof UsageError && /below 2\^52/.test(error.message),
    );
  });
});
