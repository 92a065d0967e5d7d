/**
 * Exact time arithmetic: every strategy decides the same at a clock of 0 as at the clock values
 * production uses (epoch milliseconds today, and up to 2^45), admits a fresh client within its
 * capacity at any clock, and admits a client that waits exactly the `retryAfterMs` it was told.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { Rate } from "../../src/rate.js";
import { GCRAStrategy, TokenBucketStrategy } from "../../src/strategies/index.js";
import type { Step, Strategy, StrategyState } from "../../src/strategies/strategy.js";
import { type Arrival, allStrategies, clockArb, rateArb, run, traceArb } from "./harness.js";

const RUNS = { numRuns: 200 };
const DAY = 86_400_000;

/** Random rates with larger limits and odd windows, where intervals are far from whole ms. */
const wideRateArb = fc
  .record({ limit: fc.integer({ min: 1, max: 5_000 }), windowMs: fc.integer({ min: 1, max: DAY }) })
  .map(({ limit, windowMs }) => new Rate({ limit, milliseconds: windowMs }));

const decision = ({ state: _, ...rest }: Step) => rest;

/** Every decision of a trace (admitted or not), run from clock `start` as a backend would. */
function decisions(strategy: Strategy, rate: Rate, trace: readonly Arrival[], start: number) {
  let state: StrategyState | undefined;
  let now = start;
  const out: Omit<Step, "state">[] = [];
  for (const { gapMs, cost } of trace) {
    now += gapMs;
    if (cost > strategy.capacity(rate)) continue;
    const step = strategy.apply(state, now, cost, rate);
    if (step.allowed && cost > 0) state = step.state;
    out.push(decision(step));
  }
  return out;
}

describe("exact time arithmetic", () => {
  it("the reported GCRA lock-out: burst 1 at 6/s admits a fresh client at every clock", () => {
    const gcra = new GCRAStrategy({ burst: 1 });
    const rate = Rate.parse("6/s");
    for (const now of [0, 1_700_000_000_000, 1_764_633_600_123, 2 ** 45]) {
      const step = gcra.apply(undefined, now, 1, rate);
      assert.equal(step.allowed, true, `at ${now}`);
      // A client honouring retryAfterMs is admitted on every retry, forever.
      let state = step.state;
      let at = now;
      for (let i = 0; i < 50; i++) {
        const rejected = gcra.apply(state, at, 1, rate);
        assert.equal(rejected.allowed, false);
        at += rejected.retryAfterMs;
        const admitted = gcra.apply(state, at, 1, rate);
        assert.equal(admitted.allowed, true, `retry ${i} at ${at}`);
        state = admitted.state;
      }
      // 50 units in 50 intervals of 166.67 ms, with each wait rounded up to a whole ms.
      assert.ok(at - now >= (50 * 1000) / 6 && at - now <= (50 * 1000) / 6 + 50);
    }
  });

  it("a fresh request of cost = capacity is admitted for every rate and burst, at every clock", () => {
    for (const strategy of [
      new GCRAStrategy({ burst: 1 }),
      new GCRAStrategy(),
      new TokenBucketStrategy({ burstSize: 1 }),
    ]) {
      for (let limit = 1; limit <= 12; limit++) {
        for (const windowMs of [1_000, 10_000, 60_000, 7_000, 3_600_000]) {
          const rate = new Rate({ limit, milliseconds: windowMs });
          for (const now of [0, 1_700_000_000_000, 1_764_633_600_000, 2 ** 45]) {
            const step = strategy.apply(undefined, now, strategy.capacity(rate), rate);
            assert.equal(step.allowed, true, `${strategy.name} ${rate} at ${now}`);
          }
        }
      }
    }
  });

  for (const strategy of allStrategies()) {
    it(`${strategy.name}: a fresh client within capacity is admitted at any clock`, () => {
      fc.assert(
        fc.property(wideRateArb, clockArb, fc.nat(), (rate, now, pick) => {
          fc.pre(strategy.capacity(rate) * rate.windowMs < 2 ** 52);
          const cost = 1 + (pick % strategy.capacity(rate));
          assert.equal(strategy.apply(undefined, now, cost, rate).allowed, true);
        }),
        RUNS,
      );
    });

    it(`${strategy.name}: a client that waits exactly retryAfterMs is admitted, at any clock`, () => {
      fc.assert(
        fc.property(
          rateArb,
          traceArb,
          clockArb,
          fc.integer({ min: 1, max: 4 }),
          (rate, trace, start, cost) => {
            fc.pre(cost <= strategy.capacity(rate));
            const { state, now } = run(strategy, rate, trace, start);
            const step = strategy.apply(state, now, cost, rate);
            if (step.allowed) return;
            assert.ok(Number.isInteger(step.retryAfterMs) && step.retryAfterMs > 0);
            assert.ok(strategy.apply(state, now + step.retryAfterMs, cost, rate).allowed);
          },
        ),
        RUNS,
      );
    });

    it(`${strategy.name}: a cost beyond capacity reports the remaining a peek reports`, () => {
      fc.assert(
        fc.property(rateArb, traceArb, clockArb, (rate, trace, start) => {
          const { state, now } = run(strategy, rate, trace, start);
          const beyond = strategy.apply(state, now, strategy.capacity(rate) + 1, rate);
          assert.equal(beyond.remaining, strategy.apply(state, now, 0, rate).remaining);
        }),
        RUNS,
      );
    });

    it(`${strategy.name}: every duration is a whole number of ms`, () => {
      fc.assert(
        fc.property(wideRateArb, traceArb, clockArb, (rate, trace, start) => {
          for (const d of decisions(strategy, rate, trace, start)) {
            for (const ms of [d.resetAfterMs, d.delayMs, d.retryAfterMs]) {
              assert.ok(Number.isInteger(ms) || ms === Number.POSITIVE_INFINITY, `${ms}`);
            }
          }
        }),
        RUNS,
      );
    });

    // Windows of the fixed window align to the clock, so it is shifted by whole windows only.
    const shiftOf = (rate: Rate, by: number) =>
      strategy.name === "fixed-window" ? by - (by % rate.windowMs) : by;

    it(`${strategy.name}: the same decisions at a clock of 0 as at any later clock`, () => {
      fc.assert(
        fc.property(rateArb, traceArb, clockArb, (rate, trace, later) => {
          const integral = trace.map(({ gapMs, cost }) => ({ gapMs: Math.floor(gapMs), cost }));
          assert.deepEqual(
            decisions(strategy, rate, integral, shiftOf(rate, later)),
            decisions(strategy, rate, integral, 0),
          );
        }),
        RUNS,
      );
    });
  }
});

/**
 * A clock that steps back and forth (NTP stepping it, or application servers with skewed
 * clocks sharing a store). The bucket strategies keep a schedule, so on the times they were
 * given their bounds still hold: a client gains nothing from a clock that goes back and then
 * forth again (a bucket that kept a level and its time refilled twice).
 */
describe("a clock that steps back and forth", () => {
  const steppingTraceArb = fc.array(
    fc.record({
      gapMs: fc.oneof(
        fc.constant(0),
        fc.integer({ min: -3_000, max: 0 }),
        fc.integer({ min: 0, max: 5_000 }),
      ),
      cost: fc.integer({ min: 0, max: 4 }),
    }),
    { maxLength: 100 },
  );

  /** Admissions of a trace, each at the time the strategy was given. */
  function admitted(strategy: Strategy, rate: Rate, trace: readonly Arrival[], start: number) {
    let state: StrategyState | undefined;
    let now = start;
    const out: { at: number; cost: number }[] = [];
    for (const { gapMs, cost } of trace) {
      now += gapMs;
      if (cost > strategy.capacity(rate)) continue;
      const step = strategy.apply(state, now, cost, rate);
      if (step.allowed && cost > 0) {
        state = step.state;
        out.push({ at: now, cost });
      }
    }
    return out.sort((a, b) => a.at - b.at);
  }

  const burstStrategies = allStrategies().filter((s) =>
    /^(token-bucket|gcra|leaky-bucket:)/.test(s.name),
  );
  for (const strategy of burstStrategies) {
    it(`${strategy.name}: at most burst + rate * t units in any interval t of the clock`, () => {
      fc.assert(
        fc.property(rateArb, steppingTraceArb, clockArb, (rate, trace, start) => {
          const log = admitted(strategy, rate, trace, start + 1_000_000);
          for (let i = 0; i < log.length; i++) {
            let units = 0;
            for (let j = i; j < log.length; j++) {
              units += (log[j] as { cost: number }).cost;
              const span = (log[j] as { at: number }).at - (log[i] as { at: number }).at;
              const bound = strategy.capacity(rate) + (span * rate.limit) / rate.windowMs;
              assert.ok(units <= bound + 1e-9, `${units} units in ${span} ms (bound ${bound})`);
            }
          }
        }),
        { numRuns: 500 },
      );
    });
  }

  // The log keeps the times it was given, and a log that expired is forgotten, so a clock
  // that jumps forward and back can meet an empty log. Measured on a real, monotonic timeline
  // with clocks skewed by up to `skew` ms either way (application servers sharing a store), it
  // keeps its exact bound over windows of W - 2 * skew.
  it("sliding window log: at most `limit` units in any real window of W - 2 skew", () => {
    const strategy = allStrategies().find((s) => s.name === "sliding-window-log") as Strategy;
    const skewedArb = (skew: number) =>
      fc.array(
        fc.record({
          gapMs: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 4 * skew + 50 })),
          offset: fc.integer({ min: -skew, max: skew }),
          cost: fc.integer({ min: 0, max: 4 }),
        }),
        { maxLength: 100 },
      );
    fc.assert(
      fc.property(
        rateArb,
        clockArb,
        fc.double({ min: 0, max: 0.45, noNaN: true }),
        (rate, start, f) => {
          const skew = Math.floor(rate.windowMs * f);
          fc.assert(
            fc.property(skewedArb(skew), (trace) => {
              let state: StrategyState | undefined;
              let real = start + skew;
              const log: { at: number; cost: number }[] = [];
              for (const { gapMs, offset, cost } of trace) {
                real += gapMs;
                const step = strategy.apply(state, real + offset, cost, rate);
                if (step.allowed && cost > 0 && cost <= rate.limit) {
                  state = step.state;
                  log.push({ at: real, cost });
                }
              }
              const span = rate.windowMs - 2 * skew;
              for (const { at } of log) {
                const units = log
                  .filter((a) => a.at > at - span && a.at <= at)
                  .reduce((sum, a) => sum + a.cost, 0);
                assert.ok(units <= rate.limit, `${units} units within ${span} ms`);
              }
            }),
            { numRuns: 3 },
          );
        },
      ),
      { numRuns: 200 },
    );
  });

  it("sliding window log: the reported repro, a step back does not double the limit", () => {
    const strategy = allStrategies().find((s) => s.name === "sliding-window-log") as Strategy;
    const rate = Rate.parse("10/s");
    let state: StrategyState | undefined;
    let admitted = 0;
    // Five requests, a clock stepped back 600 ms, five more, then the clock steps forward past
    // the older five's window end: the first five are still within a second of the newest.
    for (const [at, times] of [
      [10_900, 5],
      [10_300, 5],
      [11_500, 10],
    ] as const) {
      for (let i = 0; i < times; i++) {
        const step = strategy.apply(state, at, 1, rate);
        if (step.allowed) {
          state = step.state;
          admitted++;
        }
      }
    }
    assert.equal(admitted, 10);
  });
});
