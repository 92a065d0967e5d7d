import fc from "fast-check";
import { Rate } from "../../src/rate.js";
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

/** Every strategy, with and without its options. */
export function allStrategies(): Strategy[] {
  return [
    new FixedWindowStrategy(),
    new SlidingWindowLogStrategy(),
    new SlidingWindowCounterStrategy(),
    new TokenBucketStrategy(),
    new TokenBucketStrategy({ burstSize: 3 }),
    new TokenBucketWithDebtStrategy({ maxDebt: 2 }),
    new TokenBucketWithDebtStrategy(),
    new LeakyBucketStrategy(),
    new LeakyBucketStrategy({ capacity: 1 }),
    new LeakyBucketWithQueueStrategy({ queueSize: 3 }),
    new LeakyBucketWithQueueStrategy(),
    new GCRAStrategy(),
    new GCRAStrategy({ burst: 2 }),
  ];
}

export interface Arrival {
  /** Milliseconds since the previous arrival. */
  readonly gapMs: number;
  readonly cost: number;
}

export interface Admitted {
  readonly at: number;
  readonly cost: number;
  readonly step: Step;
}

/** Random rates: small limits, windows from 1 ms to 10 s. */
export const rateArb = fc
  .record({ limit: fc.integer({ min: 1, max: 20 }), windowMs: fc.integer({ min: 1, max: 10_000 }) })
  .map(({ limit, windowMs }) => new Rate({ limit, milliseconds: windowMs }));

/** Clocks from 0 to 2^45 ms, with today's epoch and the next decades' weighted in. */
export const clockArb = fc.oneof(
  fc.integer({ min: 0, max: 2 ** 45 }),
  fc.constantFrom(1_700_000_000_000, 1_764_633_600_000, 2_000_000_000_000, 4_102_444_800_000),
  fc.integer({ min: 1_700_000_000_000, max: 2_500_000_000_000 }),
  fc.constant(2 ** 45 - 86_400_000),
);

/** Random traces: bursts (gap 0), fractional gaps and long pauses; costs from 0 to 4. */
export const traceArb = fc.array(
  fc.record({
    gapMs: fc.oneof(
      fc.constant(0),
      fc.double({ min: 0, max: 50, noNaN: true }),
      fc.integer({ min: 0, max: 20_000 }),
    ),
    cost: fc.integer({ min: 0, max: 4 }),
  }),
  { maxLength: 120 },
);

/** Runs a trace through a strategy as a backend would: admitted states are kept. */
export function run(strategy: Strategy, rate: Rate, trace: readonly Arrival[], start = 1_000_000) {
  let state: StrategyState | undefined;
  let now = start;
  const admitted: Admitted[] = [];
  const capacity = strategy.capacity(rate);
  for (const { gapMs, cost } of trace) {
    now += gapMs;
    if (cost > capacity) continue;
    const step = strategy.apply(state, now, cost, rate);
    // A cost of 0 is a peek, which backends never store. Strategies decide on whole ms.
    if (step.allowed && cost > 0) {
      state = step.state;
      admitted.push({ at: Math.floor(now), cost, step });
    }
  }
  return { state, now, admitted };
}
