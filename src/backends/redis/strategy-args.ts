import {
  FixedWindowStrategy,
  GCRAStrategy,
  LeakyBucketStrategy,
  LeakyBucketWithQueueStrategy,
  SlidingWindowCounterStrategy,
  SlidingWindowLogStrategy,
  TokenBucketStrategy,
  TokenBucketWithDebtStrategy,
} from "../../strategies/index.js";
import type { Strategy } from "../../strategies/strategy.js";

const option = (value: number | undefined): string => (value === undefined ? "" : String(value));

const known = new WeakMap<Strategy, readonly [string, string, string] | undefined>();

/**
 * The code and two parameters naming a built-in strategy's Lua mirror, or `undefined` for a
 * strategy that has none (the backend then decides it through locks). Worked out once per
 * strategy object.
 */
export function strategyArgs(strategy: Strategy): readonly [string, string, string] | undefined {
  if (known.has(strategy)) return known.get(strategy);
  const args = mirrorOf(strategy);
  known.set(strategy, args);
  return args;
}

function mirrorOf(strategy: Strategy): readonly [string, string, string] | undefined {
  if (strategy instanceof FixedWindowStrategy) return ["fw", "", ""];
  if (strategy instanceof SlidingWindowLogStrategy) return ["swl", "", ""];
  if (strategy instanceof SlidingWindowCounterStrategy) return ["swc", "", ""];
  if (strategy instanceof TokenBucketWithDebtStrategy) {
    return ["tbd", option(strategy.burstSize), option(strategy.maxDebt)];
  }
  if (strategy instanceof TokenBucketStrategy) return ["tb", option(strategy.burstSize), ""];
  if (strategy instanceof LeakyBucketWithQueueStrategy)
    return ["lbq", option(strategy.queueSize), ""];
  if (strategy instanceof LeakyBucketStrategy) return ["lb", option(strategy.bucketCapacity), ""];
  if (strategy instanceof GCRAStrategy) return ["gcra", option(strategy.burst), ""];
  return undefined;
}
