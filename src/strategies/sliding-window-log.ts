import type { Rate } from "../rate.js";
import {
  beyondCapacity,
  rejected,
  type Step,
  type Strategy,
  type StrategyState,
} from "./strategy.js";

/**
 * Sliding window log: remembers when each admitted request arrived and what it cost, and admits
 * a request when the units admitted in the last `windowMs`, plus its cost, stay within `limit`.
 *
 * - Exact: at most `limit` units in every window of length `windowMs`, wherever it is placed.
 * - State, `1 + 2n` numbers: `[expiresAt, t1, cost1, t2, cost2, ...]` for the n admitted
 *   requests still inside the window (at most `limit` of them): memory grows with the limit.
 * - Wait: until enough of the oldest entries leave the window to make room for the cost.
 */
export class SlidingWindowLogStrategy implements Strategy {
  readonly name = "sliding-window-log";

  capacity(rate: Rate): number {
    return rate.limit;
  }

  apply(state: StrategyState | undefined, now: number, cost: number, rate: Rate): Step {
    const { limit, windowMs } = rate;
    if (cost > limit) return beyondCapacity(state, now);
    const entries = liveEntries(state, now, windowMs);
    let used = 0;
    for (let i = 1; i < entries.length; i += 2) used += entries[i] as number;
    const newest = entries.length > 0 ? (entries[entries.length - 2] as number) : now - windowMs;

    if (used + cost > limit) {
      const mustFree = used + cost - limit;
      let freed = 0;
      let retryAfterMs = 0;
      for (let i = 0; i < entries.length; i += 2) {
        freed += entries[i + 1] as number;
        if (freed >= mustFree) {
          retryAfterMs = (entries[i] as number) + windowMs - now;
          break;
        }
      }
      return rejected(state ?? [], limit - used, retryAfterMs, newest + windowMs - now);
    }
    if (cost > 0) {
      if (entries.length > 0 && newest === now)
        entries[entries.length - 1] = (entries.at(-1) as number) + cost;
      else entries.push(now, cost);
    }
    const expiresAt = entries.length > 0 ? (entries[entries.length - 2] as number) + windowMs : now;
    return {
      state: [expiresAt, ...entries],
      allowed: true,
      remaining: limit - used - cost,
      retryAfterMs: 0,
      resetAfterMs: expiresAt - now,
      delayMs: 0,
    };
  }
}

/** The `[t, cost]` pairs of `state` still inside the window at `now`, oldest first. */
function liveEntries(state: StrategyState | undefined, now: number, windowMs: number): number[] {
  const entries: number[] = [];
  if (state === undefined || state.length % 2 !== 1 || !((state[0] as number) > now)) {
    return entries;
  }
  for (let i = 1; i < state.length; i += 2) {
    const at = state[i] as number;
    const cost = state[i + 1] as number;
    if (!Number.isFinite(at) || !Number.isFinite(cost) || cost < 0) return [];
    if (at + windowMs > now) entries.push(at, cost);
  }
  return entries;
}
