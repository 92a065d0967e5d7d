import { ConfigurationError } from "../errors.js";
import type { Step, StrategyState } from "../strategies/strategy.js";
import type { DecisionRequest } from "./types.js";

/** A client's state after a penalty or reward, and what a request of its cost would be told then. */
export interface Adjusted {
  /** The state to store; expired (`state[0] <= now`) when nothing is left to keep. */
  readonly state: StrategyState;
  /** A peek of `request.cost` on the new state: the client's decision after the change. */
  readonly step: Step;
}

/**
 * `points` taken from (`> 0`) or given back to (`< 0`) the client whose state is `state`, by
 * the request's strategy (`Strategy.adjust`), at `now` on the deciding clock. Every backend's
 * penalty and reward path computes it here, between its atomic read and write. @internal
 *
 * @throws {ConfigurationError} when the strategy has no `adjust`.
 */
export function adjusted(
  request: DecisionRequest,
  state: StrategyState | undefined,
  now: number,
  points: number,
): Adjusted {
  const { strategy, rate, cost } = request;
  if (strategy.adjust === undefined) throw cannotAdjust(strategy.name);
  const next = strategy.adjust(state, now, points, rate);
  return { state: next, step: strategy.apply(next, now, cost, rate) };
}

/** The error for a strategy without `adjust`. @internal */
export function cannotAdjust(name: string): ConfigurationError {
  return new ConfigurationError(
    `Strategy "${name}" has no adjust(state, now, points, rate): penalty, reward and refunds need one.`,
    { code: "ERR_TRAFFIK_CANNOT_ADJUST" },
  );
}
