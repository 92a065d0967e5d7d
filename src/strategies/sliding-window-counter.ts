import type { Rate } from "../rate.js";
import {
  beyondCapacity,
  isLive,
  rejected,
  type Step,
  type Strategy,
  type StrategyState,
} from "./strategy.js";
import { floorDiv, unitsIn } from "./whole-numbers.js";

/**
 * Sliding window counter: two fixed windows, the current and the previous, with the previous
 * one's count weighted by how much of it the sliding window still covers
 * (`prev * (W - elapsed) / W + curr`). Windows start at a client's first request.
 *
 * - An approximation of the sliding log in constant memory: Cloudflare measured 0.003% of
 *   requests decided differently from an exact log. It assumes the previous window's requests
 *   were spread evenly.
 * - State, 4 numbers: `[expiresAt, windowStart, previousCount, currentCount]`.
 * - Wait: the time until the weighted estimate leaves room for the cost; within this window if
 *   the current count alone allows it, else from the next window on. Computed in whole
 *   numbers (the estimate times `windowMs`), rounded up to a whole ms.
 * - Rejected requests are not counted.
 */
export class SlidingWindowCounterStrategy implements Strategy {
  readonly name = "sliding-window-counter";

  capacity(rate: Rate): number {
    return rate.limit;
  }

  apply(state: StrategyState | undefined, now: number, cost: number, rate: Rate): Step {
    return this.step(state, now, cost, rate, undefined);
  }

  /** {@link apply}, writing an admitted state into `state` itself. */
  applyInPlace(state: number[] | undefined, now: number, cost: number, rate: Rate): Step {
    // A subclass that decides its own way is not bypassed.
    if (this.apply !== SlidingWindowCounterStrategy.prototype.apply)
      return this.apply(state, now, cost, rate);
    return this.step(state, now, cost, rate, state);
  }

  private step(
    state: StrategyState | undefined,
    now: number,
    cost: number,
    rate: Rate,
    owned: number[] | undefined,
  ): Step {
    const { limit, windowMs } = rate;
    const t = Math.floor(now);
    let start = t;
    let previous = 0;
    let current = 0;
    if (isLive(state, 4, t)) {
      start = state[1] as number;
      previous = state[2] as number;
      current = state[3] as number;
      if (t - start >= windowMs) {
        // A live state is younger than two windows, so at most one window has passed.
        start += windowMs;
        previous = current;
        current = 0;
      }
    }
    const elapsed = Math.max(0, t - start);
    // The estimate in unit-milliseconds: `previous * (W - elapsed) / W + current`, times W.
    const estimate = previous * (windowMs - elapsed) + current * windowMs;
    if (cost > limit)
      return beyondCapacity(state, t, unitsIn(limit * windowMs - estimate, windowMs));

    if (estimate > (limit - cost) * windowMs) {
      // The first whole ms at which the previous window's weight leaves room for the cost: in
      // this window if the current count alone allows it, else in the next.
      const retryAfterMs =
        current + cost <= limit
          ? windowMs - floorDiv((limit - current - cost) * windowMs, previous) - elapsed
          : 2 * windowMs - elapsed - floorDiv((limit - cost) * windowMs, current);
      const resetAt = current > 0 ? start + 2 * windowMs : start + windowMs;
      return rejected(
        state ?? [],
        unitsIn(limit * windowMs - estimate, windowMs),
        retryAfterMs,
        resetAt - t,
      );
    }
    current += cost;
    const resetAt = current > 0 ? start + 2 * windowMs : previous > 0 ? start + windowMs : t;
    return {
      state: fourNumbers(owned, start + 2 * windowMs, start, previous, current),
      allowed: true,
      remaining: floorDiv((limit - cost) * windowMs - estimate, windowMs),
      retryAfterMs: 0,
      resetAfterMs: resetAt - t,
      delayMs: 0,
    };
  }

  /**
   * Moves the current window's count by `points`: a penalty up to the limit (both windows are
   * forgotten within two windows, so there is nothing to carry past it), a reward from the
   * current window first, then from the previous one's, never below 0.
   */
  adjust(state: StrategyState | undefined, now: number, points: number, rate: Rate): StrategyState {
    const { limit, windowMs } = rate;
    const t = Math.floor(now);
    const [start, before, count] = windowsAt(state, t, windowMs);
    let previous = before;
    let current = count;
    if (points >= 0) current = Math.min(limit, current + points);
    else {
      const fromCurrent = Math.min(current, -points);
      current -= fromCurrent;
      previous = Math.max(0, previous + points + fromCurrent);
    }
    // It expires when its last count stops weighing: the same as none once nothing is counted.
    const expiresAt = current > 0 ? start + 2 * windowMs : previous > 0 ? start + windowMs : t;
    return [expiresAt, start, previous, current];
  }
}

/**
 * `[start, previous, current]` of a state at `t`: its windows, moved on by one when the
 * current one has ended, or fresh ones starting at `t` for no live state. As `apply` reads
 * them (inline there, where a tuple per decision would cost).
 */
function windowsAt(
  state: StrategyState | undefined,
  t: number,
  windowMs: number,
): [start: number, previous: number, current: number] {
  if (!isLive(state, 4, t)) return [t, 0, 0];
  const start = state[1] as number;
  // A live state is younger than two windows, so at most one window has passed.
  if (t - start >= windowMs) return [start + windowMs, state[3] as number, 0];
  return [start, state[2] as number, state[3] as number];
}

/** `[a, b, c, d]`, written into `owned` when it holds four numbers (see `twoNumbers`). */
function fourNumbers(
  owned: number[] | undefined,
  a: number,
  b: number,
  c: number,
  d: number,
): number[] {
  if (owned === undefined || owned.length !== 4) return [a, b, c, d];
  owned[0] = a;
  owned[1] = b;
  owned[2] = c;
  owned[3] = d;
  return owned;
}
