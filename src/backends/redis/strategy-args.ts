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

/**
 * The code and two parameters naming a built-in strategy's Lua mirror, or `undefined` for a
 * strategy that has none (the backend then decides it through locks).
 */
export function strategyArgs(strategy: Strategy): [string, string, string] | undefined {
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
