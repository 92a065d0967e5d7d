import { BAN_STRATEGY } from "../../strategies/ban.js";
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
import type { DecisionRequest } from "../types.js";

/** A strategy's Lua mirror: its code (see `lua/decide.ts`) and two parameters ("" takes the default). */
export type Policy = readonly [code: string, first: string, second: string];

const option = (value: number | undefined): string => (value === undefined ? "" : String(value));

/**
 * The Lua mirror of each built-in strategy, keyed by the class's prototype: found for an object
 * of exactly that class, never for a subclass, which may decide otherwise in its `apply`.
 */
const MIRRORS = new Map<object, (strategy: never) => Policy>([
  [FixedWindowStrategy.prototype, () => ["fw", "", ""]],
  [SlidingWindowLogStrategy.prototype, () => ["swl", "", ""]],
  [SlidingWindowCounterStrategy.prototype, () => ["swc", "", ""]],
  [TokenBucketStrategy.prototype, (s: TokenBucketStrategy) => ["tb", option(s.burstSize), ""]],
  [
    TokenBucketWithDebtStrategy.prototype,
    (s: TokenBucketWithDebtStrategy) => ["tbd", option(s.burstSize), option(s.maxDebt)],
  ],
  [LeakyBucketStrategy.prototype, (s: LeakyBucketStrategy) => ["lb", option(s.bucketCapacity), ""]],
  [
    LeakyBucketWithQueueStrategy.prototype,
    (s: LeakyBucketWithQueueStrategy) => ["lbq", option(s.queueSize), ""],
  ],
  [GCRAStrategy.prototype, (s: GCRAStrategy) => ["gcra", option(s.burst), ""]],
]);

const known = new WeakMap<Strategy, Policy | undefined>();
/** Most apps decide with a strategy or two: the last one answers without a lookup. */
let last: { strategy: Strategy | undefined; policy: Policy | undefined } = {
  strategy: undefined,
  policy: undefined,
};

/**
 * The Lua mirror of `strategy`, or `undefined` when it has none: a custom strategy, a subclass
 * of a built-in one, or an instance given an `apply` of its own. Those are decided by their own
 * `apply` on the backend's generic state path. Worked out once per strategy object.
 */
export function mirrorOf(strategy: Strategy): Policy | undefined {
  if (strategy === last.strategy) return last.policy;
  let policy: Policy | undefined;
  if (known.has(strategy)) policy = known.get(strategy);
  else {
    policy = lookUp(strategy);
    known.set(strategy, policy);
  }
  last = { strategy, policy };
  return policy;
}

function lookUp(strategy: Strategy): Policy | undefined {
  if (strategy === BAN_STRATEGY) return ["ban", "", ""];
  const prototype: unknown = Object.getPrototypeOf(strategy);
  if (typeof prototype !== "object" || prototype === null) return undefined;
  const mirror = MIRRORS.get(prototype);
  if (mirror === undefined || Object.hasOwn(strategy, "apply")) return undefined;
  return mirror(strategy as never);
}

/** A request's packed script argument, less its group: "code,cost,limit,window,option,option". */
export function requestArg([code, first, second]: Policy, { cost, rate }: DecisionRequest): string {
  return `${code},${cost},${rate.limit},${rate.windowMs},${first},${second}`;
}
