import type { Rate } from "../../rate.js";
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

const option = (value: number | undefined): string => (value === undefined ? "" : String(value));

/** A strategy's Lua mirror: its code and two parameters ("" takes the default). */
export type Policy = readonly [code: string, first: string, second: string];

const known = new WeakMap<Strategy, Policy | undefined>();

/**
 * The code and two parameters naming a built-in strategy's Lua mirror, or `undefined` for a
 * strategy that has none (the backend then decides it through locks). Worked out once per
 * strategy object.
 */
export function strategyArgs(strategy: Strategy): Policy | undefined {
  // Most apps decide with a strategy or two: the last one answers without a lookup.
  if (strategy === last.strategy) return last.args;
  let args: Policy | undefined;
  if (known.has(strategy)) args = known.get(strategy);
  else {
    args = mirrorOf(strategy);
    known.set(strategy, args);
  }
  last = { strategy, args };
  return args;
}

let last: { strategy: Strategy | undefined; args: Policy | undefined } = {
  strategy: undefined,
  args: undefined,
};

function mirrorOf(strategy: Strategy): Policy | undefined {
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

/** A request's packed script argument, less its group: "code,cost,limit,window,option,option". */
export function requestArg([code, first, second]: Policy, { cost, rate }: DecisionRequest): string {
  return `${code},${cost},${rate.limit},${rate.windowMs},${first},${second}`;
}

/** The lone fixed-window scripts' arguments: cost, limit, window, and a test clock if any. */
export function fixedWindowArgs(
  { cost, rate }: DecisionRequest,
  now: number | undefined,
): string[] {
  if (rate !== lastRate.rate) {
    lastRate = { rate, limit: String(rate.limit), window: String(rate.windowMs) };
  }
  const args = [String(cost), lastRate.limit, lastRate.window];
  if (now !== undefined) args.push(String(now));
  return args;
}

/** The last rate's arguments, as text: most apps have a rate or two, and formatting costs. */
let lastRate: { rate: Rate | undefined; limit: string; window: string } = {
  rate: undefined,
  limit: "",
  window: "",
};
