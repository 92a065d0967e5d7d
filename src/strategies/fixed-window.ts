import type { Rate } from "../rate.js";
import {
  beyondCapacity,
  isLive,
  rejected,
  type Step,
  type Strategy,
  type StrategyState,
  twoNumbers,
} from "./strategy.js";
import { floorDiv } from "./whole-numbers.js";

/**
 * Fixed window: counts units in windows of `rate.windowMs` aligned to the clock (they end at
 * multiples of `windowMs`); the count starts again when the window ends.
 *
 * - Admits at most `limit` units per window (up to twice that across a window boundary).
 * - State, 2 numbers: `[windowEnd, count]` (16 bytes of numbers per client). Aligned windows
 *   let the Redis backend keep a bare counter per window, one command per decision.
 * - Wait: a rejected request waits until the window ends, `windowEnd - now`.
 * - Rejected requests are not counted, so a client that keeps retrying is not punished.
 */
export class FixedWindowStrategy implements Strategy {
  readonly name = "fixed-window";

  capacity(rate: Rate): number {
    return rate.limit;
  }

  apply(state: StrategyState | undefined, now: number, cost: number, rate: Rate): Step {
    return fixedWindowStep(state, now, cost, rate, undefined);
  }

  /** {@link apply}, writing the new count into `state` itself. */
  applyInPlace(state: number[] | undefined, now: number, cost: number, rate: Rate): Step {
    // A subclass that decides its own way is not bypassed.
    if (this.apply !== FixedWindowStrategy.prototype.apply)
      return this.apply(state, now, cost, rate);
    return fixedWindowStep(state, now, cost, rate, state);
  }

  /**
   * Moves the window's count by `points`, between 0 and the limit: a window forgets everything
   * at its end, so a penalty past the limit would have nothing to carry over.
   */
  adjust(state: StrategyState | undefined, now: number, points: number, rate: Rate): StrategyState {
    const { limit, windowMs } = rate;
    const t = Math.floor(now);
    const live = isLive(state, 2, t);
    const count = live ? (state[1] as number) : 0;
    const windowEnd = live ? (state[0] as number) : (floorDiv(t, windowMs) + 1) * windowMs;
    return [windowEnd, Math.min(limit, Math.max(0, count + points))];
  }
}

function fixedWindowStep(
  state: StrategyState | undefined,
  now: number,
  cost: number,
  rate: Rate,
  owned: number[] | undefined,
): Step {
  const { limit, windowMs } = rate;
  const t = Math.floor(now);
  const live = isLive(state, 2, t);
  const count = live ? (state[1] as number) : 0;
  if (cost > limit) return beyondCapacity(state, t, Math.max(0, limit - count));
  const windowEnd = live ? (state[0] as number) : (floorDiv(t, windowMs) + 1) * windowMs;
  const resetAfterMs = windowEnd - t;
  if (count + cost > limit) {
    return rejected(live ? state : [windowEnd, count], limit - count, resetAfterMs, resetAfterMs);
  }
  return {
    state: twoNumbers(owned, windowEnd, count + cost),
    allowed: true,
    remaining: limit - count - cost,
    retryAfterMs: 0,
    resetAfterMs,
    delayMs: 0,
  };
}
