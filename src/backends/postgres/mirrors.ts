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

/** A strategy's PL/pgSQL mirror: its code and two options (`null` takes the default). */
export type Mirror = readonly [code: string, first: number | null, second: number | null];

const known = new WeakMap<Strategy, Mirror | undefined>();

/**
 * The mirror deciding `strategy` in the decision function, or `undefined` for a strategy that
 * has none: a custom one, or a subclass of a built-in one (which may override `apply`), found
 * by its exact class, never `instanceof`. Worked out once per strategy object.
 */
export function mirrorOf(strategy: Strategy): Mirror | undefined {
  if (known.has(strategy)) return known.get(strategy);
  const mirror = find(strategy);
  known.set(strategy, mirror);
  return mirror;
}

function find(strategy: Strategy): Mirror | undefined {
  const option = (value: number | undefined) => value ?? null;
  switch (Object.getPrototypeOf(strategy)) {
    case FixedWindowStrategy.prototype:
      return ["fw", null, null];
    case SlidingWindowLogStrategy.prototype:
      return ["swl", null, null];
    case SlidingWindowCounterStrategy.prototype:
      return ["swc", null, null];
    case TokenBucketStrategy.prototype:
      return ["tb", option((strategy as TokenBucketStrategy).burstSize), null];
    case TokenBucketWithDebtStrategy.prototype: {
      const { burstSize, maxDebt } = strategy as TokenBucketWithDebtStrategy;
      return ["tbd", option(burstSize), option(maxDebt)];
    }
    case LeakyBucketStrategy.prototype:
      return ["lb", option((strategy as LeakyBucketStrategy).bucketCapacity), null];
    case LeakyBucketWithQueueStrategy.prototype:
      return ["lbq", option((strategy as LeakyBucketWithQueueStrategy).queueSize), null];
    case GCRAStrategy.prototype:
      return ["gcra", option((strategy as GCRAStrategy).burst), null];
    default:
      return undefined;
  }
}
