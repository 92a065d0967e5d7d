/**
 * The numbers behind each picture, the simulation's result (not the SVG), respect the bound
 * of the strategy drawn: for the README's traffic, and for random traffic logs.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { Rate } from "../../src/rate.js";
import { createStrategy, STRATEGY_NAMES, type StrategyName } from "../../src/simulate/catalog.js";
import { type SimulatedRequest, type Simulation, simulate } from "../../src/simulate/run.js";
import { generateTraffic } from "../../src/simulate/traffic.js";

/** The strategies with and without their options, as the CLI builds them. */
const CONFIGURED: readonly { name: StrategyName; flags: Record<string, number> }[] = [
  ...STRATEGY_NAMES.map((name) => ({ name, flags: {} })),
  { name: "token-bucket", flags: { burst: 3 } },
  { name: "token-bucket-with-debt", flags: { burst: 2, maxDebt: 4 } },
  { name: "leaky-bucket", flags: { capacity: 1 } },
  { name: "leaky-bucket-with-queue", flags: { queueSize: 2 } },
  { name: "leaky-bucket-with-queue", flags: { queueSize: 0 } },
  { name: "gcra", flags: { burst: 1 } },
];

/** The times of the admitted requests (at once or after a delay), in order. */
function admittedTimes(simulation: Simulation): number[] {
  return simulation.requests.filter((r) => r.outcome !== "rejected").map((r) => r.at);
}

/** At most `burst` + `limit` per `windowMs` of elapsed time, between any two admissions. */
function assertBurstBound(simulation: Simulation, burst: number): void {
  const { limit, windowMs } = simulation.rate;
  const at = admittedTimes(simulation);
  for (let i = 0; i < at.length; i++) {
    for (let j = i; j < at.length; j++) {
      const elapsed = (at[j] as number) - (at[i] as number);
      assert.ok(
        (j - i + 1 - burst) * windowMs <= limit * elapsed,
        `${j - i + 1} admitted within ${elapsed} ms, above ${burst} + ${limit}/${windowMs}ms`,
      );
    }
  }
}

/** At most `most` admitted in every span of `windowMs`, wherever it is placed. */
function assertSlidingBound(simulation: Simulation, most: number): void {
  const at = admittedTimes(simulation);
  let first = 0;
  for (let last = 0; last < at.length; last++) {
    while ((at[first] as number) <= (at[last] as number) - simulation.rate.windowMs) first++;
    assert.ok(
      last - first + 1 <= most,
      `${last - first + 1} admitted within a window at ${at[last]}`,
    );
  }
}

/** Checks `simulation` of `name` (built with `flags`) against the bound that strategy promises. */
function assertBound(
  name: StrategyName,
  flags: Record<string, number>,
  simulation: Simulation,
): void {
  const { limit, windowMs } = simulation.rate;
  const interval = windowMs / limit;
  switch (name) {
    case "fixed-window": {
      const perWindow = new Map<number, number>();
      for (const at of admittedTimes(simulation)) {
        const window = Math.floor(at / windowMs);
        perWindow.set(window, (perWindow.get(window) ?? 0) + 1);
      }
      for (const [window, count] of perWindow) {
        assert.ok(count <= limit, `${count} admitted in the window from ${window * windowMs}`);
      }
      break;
    }
    case "sliding-window-log":
      assertSlidingBound(simulation, limit);
      break;
    case "sliding-window-counter": {
      // At most `limit` in each of its own windows, which start at a client's first request
      // and follow each other while the state lives (two windows)...
      let start = Number.NEGATIVE_INFINITY;
      let count = 0;
      for (const at of admittedTimes(simulation)) {
        if (at >= start + 2 * windowMs) [start, count] = [at, 0];
        else if (at >= start + windowMs) [start, count] = [start + windowMs, 0];
        count++;
        assert.ok(count <= limit, `${count} admitted in its window from ${start}`);
      }
      // ...and as its estimate weighs the previous window evenly, up to twice that in a
      // window placed anywhere.
      assertSlidingBound(simulation, 2 * limit);
      break;
    }
    case "token-bucket":
    case "gcra":
      assertBurstBound(simulation, flags.burst ?? limit);
      break;
    case "leaky-bucket":
      assertBurstBound(simulation, flags.capacity ?? limit);
      break;
    case "token-bucket-with-debt":
      assertBurstBound(simulation, (flags.burst ?? limit) + (flags.maxDebt ?? limit));
      break;
    case "leaky-bucket-with-queue": {
      // Admitted requests start an interval apart (each start rounded up to a whole ms), and
      // none waits longer than its place in the queue.
      const queueSize = flags.queueSize ?? limit;
      const starts = simulation.requests
        .filter((r) => r.outcome !== "rejected")
        .map((r) => r.at + r.waitMs);
      for (let i = 1; i < starts.length; i++) {
        const gap = (starts[i] as number) - (starts[i - 1] as number);
        assert.ok(gap > interval - 1, `starts ${gap} ms apart, closer than ${interval} ms`);
      }
      for (const request of simulation.requests) {
        assert.ok(
          request.waitMs <= Math.ceil(queueSize * interval) || request.outcome === "rejected",
        );
      }
      break;
    }
  }
}

/** Every request has one outcome, and what it was told fits it. */
function assertAnswers(simulation: Simulation): void {
  for (const { outcome, waitMs } of simulation.requests) {
    if (outcome === "admitted") assert.equal(waitMs, 0);
    else assert.ok(Number.isSafeInteger(waitMs) && waitMs > 0, `${outcome} told ${waitMs} ms`);
  }
}

/** A rejected client that comes back after the wait it was told is admitted. */
function assertHonestWaits(
  name: StrategyName,
  flags: Record<string, number>,
  simulation: Simulation,
): void {
  const { strategy } = createStrategy(name, flags);
  const arrivals = simulation.requests.map((r) => r.at);
  simulation.requests.forEach((request: SimulatedRequest, k) => {
    if (request.outcome !== "rejected") return;
    const retry = [...arrivals.slice(0, k), request.at + request.waitMs];
    const replay = simulate(strategy, simulation.rate, retry, simulation.cost);
    assert.notEqual(replay.requests.at(-1)?.outcome, "rejected", `retry of request ${k} rejected`);
  });
}

describe("the numbers behind the pictures respect each strategy's bound", () => {
  const rate = Rate.parse("10/s");
  const readmeTraffic = generateTraffic("burst", {
    offered: Rate.parse("25/2s"),
    durationMs: 6_000,
    startMs: 900,
  });

  for (const { name, flags } of CONFIGURED) {
    const label = `${name}${Object.keys(flags).length > 0 ? ` ${JSON.stringify(flags)}` : ""}`;

    it(`${label}: under the README's bursts`, () => {
      const { strategy } = createStrategy(name, flags);
      const simulation = simulate(strategy, rate, readmeTraffic.arrivals);
      assertAnswers(simulation);
      assertBound(name, flags, simulation);
      assertHonestWaits(name, flags, simulation);
      // The bursts are more than any strategy admits: each picture shows rejections.
      assert.ok(simulation.requests.some((r) => r.outcome === "rejected"));
    });

    it(`${label}: under random traffic logs`, () => {
      const rateArb = fc
        .record({
          limit: fc.integer({ min: 1, max: 12 }),
          windowMs: fc.integer({ min: 1, max: 5_000 }),
        })
        .map(({ limit, windowMs }) => new Rate({ limit, milliseconds: windowMs }));
      const gapsArb = fc.array(
        fc.oneof(
          fc.constant(0),
          fc.integer({ min: 0, max: 50 }),
          fc.integer({ min: 0, max: 8_000 }),
        ),
        { minLength: 1, maxLength: 80 },
      );
      fc.assert(
        fc.property(rateArb, gapsArb, fc.integer({ min: 0, max: 2 ** 40 }), (rate, gaps, start) => {
          let at = start;
          const arrivals = gaps.map((gap) => (at += gap));
          const { strategy } = createStrategy(name, flags);
          const simulation = simulate(strategy, rate, arrivals);
          assertAnswers(simulation);
          assertBound(name, flags, simulation);
          assertHonestWaits(name, flags, simulation);
        }),
        { numRuns: 100 },
      );
    });
  }
});
