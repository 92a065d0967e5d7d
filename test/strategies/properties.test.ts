import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import type { Rate } from "../../src/rate.js";
import {
  FixedWindowStrategy,
  GCRAStrategy,
  LeakyBucketStrategy,
  LeakyBucketWithQueueStrategy,
  SlidingWindowCounterStrategy,
  SlidingWindowLogStrategy,
  TokenBucketStrategy,
  TokenBucketWithDebtStrategy,
} from "../../src/strategies/index.js";
import type { Step, Strategy, StrategyState } from "../../src/strategies/strategy.js";
import { type Admitted, allStrategies, rateArb, run, traceArb } from "./harness.js";

const RUNS = { numRuns: 300 };
const SLACK = 1e-6;

/** Units admitted at times within [from, to]. */
function unitsBetween(admitted: readonly Admitted[], from: number, to: number): number {
  return admitted.filter((a) => a.at >= from && a.at <= to).reduce((sum, a) => sum + a.cost, 0);
}

/** At most `burst + rate * t` units in every closed interval [ti, tj] between admissions. */
function checkBurstBound(admitted: readonly Admitted[], rate: Rate, burst: number): void {
  for (let i = 0; i < admitted.length; i++) {
    for (let j = i; j < admitted.length; j++) {
      const from = (admitted[i] as Admitted).at;
      const to = (admitted[j] as Admitted).at;
      const bound = burst + ((to - from) * rate.limit) / rate.windowMs;
      assert.ok(
        unitsBetween(admitted, from, to) <= bound + SLACK,
        `more than ${bound} in [${from}, ${to}]`,
      );
    }
  }
}

describe("strategy bounds over random arrival traces", () => {
  it("fixed window: at most `limit` units per window", () => {
    const strategy = new FixedWindowStrategy();
    fc.assert(
      fc.property(rateArb, traceArb, (rate, trace) => {
        const perWindow = new Map<number, number>();
        for (const { step, cost } of run(strategy, rate, trace).admitted) {
          const windowEnd = step.state[0] as number;
          perWindow.set(windowEnd, (perWindow.get(windowEnd) ?? 0) + cost);
        }
        const ends = [...perWindow.keys()].sort((a, b) => a - b);
        ends.forEach((end, i) => {
          assert.ok((perWindow.get(end) as number) <= rate.limit);
          if (i > 0) assert.ok(end - (ends[i - 1] as number) >= rate.windowMs, "windows overlap");
        });
      }),
      RUNS,
    );
  });

  it("sliding window log: at most `limit` units in every window of length W", () => {
    const strategy = new SlidingWindowLogStrategy();
    fc.assert(
      fc.property(rateArb, traceArb, (rate, trace) => {
        const { admitted } = run(strategy, rate, trace);
        for (const { at } of admitted) {
          const inWindow = admitted.filter((a) => a.at > at - rate.windowMs && a.at <= at);
          assert.ok(inWindow.reduce((s, a) => s + a.cost, 0) <= rate.limit);
        }
      }),
      RUNS,
    );
  });

  it("sliding window counter: at most `limit` units in each of its windows, and 2x `limit` in any W", () => {
    const strategy = new SlidingWindowCounterStrategy();
    fc.assert(
      fc.property(rateArb, traceArb, (rate, trace) => {
        const { admitted } = run(strategy, rate, trace);
        const perWindow = new Map<number, number>();
        for (const { step, cost } of admitted) {
          const start = step.state[1] as number;
          perWindow.set(start, (perWindow.get(start) ?? 0) + cost);
        }
        for (const units of perWindow.values()) assert.ok(units <= rate.limit);
        for (const { at } of admitted) {
          assert.ok(unitsBetween(admitted, at - rate.windowMs + 1e-9, at) <= 2 * rate.limit);
        }
      }),
      RUNS,
    );
  });

  const burstStrategies: [string, (limit: number) => number, () => Strategy][] = [
    ["token bucket", (limit) => limit, () => new TokenBucketStrategy()],
    ["token bucket (burstSize 3)", () => 3, () => new TokenBucketStrategy({ burstSize: 3 })],
    [
      "token bucket with debt (maxDebt 2)",
      (limit) => limit + 2,
      () => new TokenBucketWithDebtStrategy({ maxDebt: 2 }),
    ],
    ["GCRA", (limit) => limit, () => new GCRAStrategy()],
    ["GCRA (burst 2)", () => 2, () => new GCRAStrategy({ burst: 2 })],
    ["leaky bucket", (limit) => limit, () => new LeakyBucketStrategy()],
    ["leaky bucket (capacity 1)", () => 1, () => new LeakyBucketStrategy({ capacity: 1 })],
  ];
  for (const [name, burstOf, make] of burstStrategies) {
    it(`${name}: at most burst + rate * t units in any interval t`, () => {
      const strategy = make();
      fc.assert(
        fc.property(rateArb, traceArb, (rate, trace) => {
          checkBurstBound(run(strategy, rate, trace).admitted, rate, burstOf(rate.limit));
        }),
        RUNS,
      );
    });
  }

  it("leaky bucket with queue: admitted requests start no closer than window / limit apart", () => {
    fc.assert(
      fc.property(rateArb, traceArb, fc.integer({ min: 0, max: 5 }), (rate, trace, queueSize) => {
        const { admitted } = run(new LeakyBucketWithQueueStrategy({ queueSize }), rate, trace);
        const interval = rate.windowMs / rate.limit;
        for (let i = 1; i < admitted.length; i++) {
          const previous = admitted[i - 1] as Admitted;
          const current = admitted[i] as Admitted;
          // Starts are whole milliseconds, rounded up from the exact schedule.
          const gap = current.at + current.step.delayMs - (previous.at + previous.step.delayMs);
          assert.ok(gap > previous.cost * interval - 1, `starts ${gap} ms apart`);
          // Nobody waits longer than the queue holds.
          assert.ok(current.step.delayMs <= Math.ceil((queueSize - current.cost + 1) * interval));
        }
      }),
      RUNS,
    );
  });
});

describe("every strategy", () => {
  for (const strategy of allStrategies()) {
    it(`${strategy.name}: a client that waits retryAfterMs is then admitted`, () => {
      fc.assert(
        fc.property(rateArb, traceArb, fc.integer({ min: 1, max: 4 }), (rate, trace, cost) => {
          fc.pre(cost <= strategy.capacity(rate));
          const { state, now } = run(strategy, rate, trace);
          const step = strategy.apply(state, now, cost, rate);
          if (step.allowed) return;
          assert.ok(step.retryAfterMs > 0 && Number.isFinite(step.retryAfterMs));
          const later = strategy.apply(state, now + step.retryAfterMs, cost, rate);
          assert.ok(later.allowed, `still rejected after waiting ${step.retryAfterMs} ms`);
          const rounded = strategy.apply(state, now + Math.ceil(step.retryAfterMs), cost, rate);
          assert.ok(rounded.allowed);
        }),
        RUNS,
      );
    });

    it(`${strategy.name}: a cost beyond its capacity is rejected at once, leaving the state`, () => {
      fc.assert(
        fc.property(rateArb, traceArb, (rate, trace) => {
          const { state, now } = run(strategy, rate, trace);
          const step = strategy.apply(state, now, strategy.capacity(rate) + 1, rate);
          assert.equal(step.allowed, false);
          assert.equal(step.retryAfterMs, Number.POSITIVE_INFINITY);
          assert.deepEqual(step.state, state ?? []);
        }),
        RUNS,
      );
    });

    it(`${strategy.name}: a rested client is admitted up to its capacity, remaining counts down`, () => {
      fc.assert(
        fc.property(rateArb, (rate) => {
          const step = strategy.apply(undefined, 0, strategy.capacity(rate), rate);
          assert.equal(step.allowed, true);
          const fresh = strategy.apply(undefined, 0, 1, rate);
          assert.ok(fresh.remaining >= 0 && Number.isInteger(fresh.remaining));
        }),
        RUNS,
      );
    });

    it(`${strategy.name}: the state expires: at state[0] it is as good as none`, () => {
      fc.assert(
        fc.property(rateArb, traceArb, (rate, trace) => {
          const { state } = run(strategy, rate, trace);
          if (state === undefined || state.length === 0) return;
          const at = state[0] as number;
          const withState = strategy.apply(state, at, 1, rate);
          const without = strategy.apply(undefined, at, 1, rate);
          assert.equal(withState.allowed, without.allowed);
          assert.equal(withState.remaining, without.remaining);
        }),
        RUNS,
      );
    });

    it(`${strategy.name}: malformed state counts as none`, () => {
      const rate = { limit: 3, windowMs: 1000, intervalMs: 333 } as Rate;
      for (const junk of [
        [Number.NaN],
        [1, 2, 3, 4, 5, 6, 7, 8],
        [Number.POSITIVE_INFINITY, 1, 1, 1],
      ]) {
        const step = strategy.apply(junk, 0, 1, rate);
        assert.equal(step.allowed, true);
      }
    });
  }
});

describe("strategies that update in place", () => {
  const inPlace = allStrategies().filter((strategy) => strategy.applyInPlace !== undefined);

  it("exist: the sliding log grows, and every other state is rewritten where it lies", () => {
    assert.deepEqual(
      inPlace.map((s) => s.name),
      [
        "fixed-window",
        "sliding-window-log",
        "sliding-window-counter",
        "token-bucket:limit",
        "token-bucket:3",
        "token-bucket-debt:limit:2",
        "token-bucket-debt:limit:limit",
        "leaky-bucket:limit",
        "leaky-bucket:1",
        "leaky-bucket-queue:3",
        "leaky-bucket-queue:limit",
        "gcra:limit",
        "gcra:2",
      ],
    );
  });

  for (const strategy of inPlace) {
    it(`${strategy.name}: applyInPlace decides exactly as apply`, () => {
      fc.assert(
        fc.property(rateArb, traceArb, (rate, trace) => {
          let pure: StrategyState | undefined;
          let owned: number[] | undefined;
          let now = 1_000_000;
          for (const { gapMs, cost } of trace) {
            now += gapMs;
            if (cost > strategy.capacity(rate)) continue;
            const expected = strategy.apply(pure, now, cost, rate);
            const actual = strategy.applyInPlace?.(owned, now, cost, rate) as Step;
            const { state: _a, ...decision } = actual;
            const { state: _e, ...wanted } = expected;
            assert.deepEqual(decision, wanted);
            if (expected.allowed) {
              pure = expected.state;
              owned = actual.state as number[];
              assert.deepEqual(owned, [...pure]);
            }
          }
        }),
        RUNS,
      );
    });
  }
});

describe("strategy specifics", () => {
  it("fixed window does not count rejected requests", () => {
    const rate = { limit: 2, windowMs: 1000 } as Rate;
    const strategy = new FixedWindowStrategy();
    const { state } = run(strategy, rate, [
      { gapMs: 0, cost: 1 },
      { gapMs: 0, cost: 1 },
      { gapMs: 0, cost: 1 },
      { gapMs: 0, cost: 1 },
    ]);
    assert.deepEqual(state, [1_001_000, 2]);
  });

  it("sliding window counter weighs the previous window", () => {
    const rate = { limit: 10, windowMs: 1000 } as Rate;
    const strategy = new SlidingWindowCounterStrategy();
    let step = strategy.apply(undefined, 0, 10, rate);
    // Half way through the next window, half of the previous 10 still count.
    step = strategy.apply(step.state, 1500, 5, rate);
    assert.equal(step.allowed, true);
    assert.equal(strategy.apply(step.state, 1500, 1, rate).allowed, false);
  });

  it("leaky bucket with queue delays instead of rejecting, then rejects beyond the queue", () => {
    const rate = { limit: 10, windowMs: 1000 } as Rate;
    const strategy = new LeakyBucketWithQueueStrategy({ queueSize: 2 });
    const first = strategy.apply(undefined, 0, 1, rate);
    const second = strategy.apply(first.state, 0, 1, rate);
    const third = strategy.apply(second.state, 0, 1, rate);
    const fourth = strategy.apply(third.state, 0, 1, rate);
    assert.deepEqual(
      [first, second, third].map((s) => [s.allowed, s.delayMs]),
      [
        [true, 0],
        [true, 100],
        [true, 200],
      ],
    );
    assert.equal(fourth.allowed, false);
    assert.equal(fourth.retryAfterMs, 100);
  });

  it("GCRA keeps one time per client: whole ms, less ticks of 1/limit ms", () => {
    const rate = { limit: 6, windowMs: 1000 } as Rate;
    const step = new GCRAStrategy().apply(undefined, 0, 1, rate);
    // The TAT is 1000/6 = 166.67 ms: 167 ms less 2 ticks of 1/6 ms.
    assert.deepEqual(step.state, [167, 2]);
  });
});
