import type { Rate } from "../rate.js";
import type { Strategy, StrategyState } from "../strategies/strategy.js";
import { MAX_UNIT_MS } from "../strategies/whole-numbers.js";
import { UsageError } from "./usage-error.js";

/** What became of one request: admitted at once, admitted after a delay, or rejected. */
export type Outcome = "admitted" | "queued" | "rejected";

/** One request of a simulation and the strategy's answer to it. */
export interface SimulatedRequest {
  /** When it arrived, in ms on the deciding clock. */
  readonly at: number;
  readonly outcome: Outcome;
  /**
   * What the client was told to wait, in whole ms: `retryAfterMs` when rejected, `delayMs`
   * (the wait before it starts) when queued, 0 when admitted at once.
   */
  readonly waitMs: number;
  /** Units the strategy still had room for right after this decision. */
  readonly remaining: number;
}

/** A traffic replayed through one strategy. */
export interface Simulation {
  readonly strategy: Strategy;
  readonly rate: Rate;
  /** Units each request costs. */
  readonly cost: number;
  /** Every request, in arrival order. */
  readonly requests: readonly SimulatedRequest[];
}

/**
 * Replays `arrivals` (whole ms, in order) from one client through the real `strategy` at
 * `rate`, on a clock that reads each arrival's time, keeping the state each admitted request
 * leaves, as every backend does. It calls `apply` directly rather than a backend: the strategy
 * holds the whole decision, and a pure loop is synchronous and exact, with nothing to close.
 *
 * @throws {UsageError} when `cost` is not a whole number of at least 1, or more than the
 *   strategy could ever admit at `rate` (a throttle refuses such a cost outright); or when
 *   the strategy is too large at `rate` for exact arithmetic (a throttle refuses it too).
 */
export function simulate(
  strategy: Strategy,
  rate: Rate,
  arrivals: readonly number[],
  cost = 1,
): Simulation {
  if (!Number.isSafeInteger(cost) || cost < 1) {
    throw new UsageError(`--cost: must be a whole number of at least 1, got ${cost}.`);
  }
  const capacity = strategy.capacity(rate);
  if (capacity * rate.windowMs > MAX_UNIT_MS) {
    throw new UsageError(
      `${strategy.name} at ${rate} holds ${capacity} units over ${rate.windowMs} ms; capacity × window must stay below 2^52 for exact arithmetic, as a throttle requires.`,
    );
  }
  if (cost > capacity) {
    throw new UsageError(
      `--cost: ${strategy.name} at ${rate} never admits more than ${capacity} at once, got ${cost}.`,
    );
  }
  let state: StrategyState | undefined;
  const requests = arrivals.map((at): SimulatedRequest => {
    const step = strategy.apply(state, at, cost, rate);
    if (step.allowed) state = step.state;
    const outcome = !step.allowed ? "rejected" : step.delayMs > 0 ? "queued" : "admitted";
    const waitMs = step.allowed ? step.delayMs : step.retryAfterMs;
    return { at, outcome, waitMs, remaining: step.remaining };
  });
  return { strategy, rate, cost, requests };
}

/** How many requests had each outcome. */
export function tally(simulation: Simulation): Readonly<Record<Outcome, number>> {
  const counts = { admitted: 0, queued: 0, rejected: 0 };
  for (const { outcome } of simulation.requests) counts[outcome]++;
  return counts;
}
