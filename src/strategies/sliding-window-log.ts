import type { Rate } from "../rate.js";
import {
  beyondCapacity,
  rejected,
  type Step,
  type Strategy,
  type StrategyState,
} from "./strategy.js";

/** Entries start after the header `[expiresAt, used]`. */
const FIRST_ENTRY = 2;

/**
 * Sliding window log: remembers when each admitted request arrived and what it cost, and admits
 * a request when the units admitted in the last `windowMs`, plus its cost, stay within `limit`.
 *
 * - Exact: at most `limit` units in every window of length `windowMs`, wherever it is placed.
 * - State, `2 + 2n` numbers: `[expiresAt, used, t1, cost1, t2, cost2, ...]` for the n admitted
 *   requests still inside the window (at most `limit` of them), oldest first; `used` is the sum
 *   of their costs. Memory and time per decision grow with the requests in the window.
 * - Wait: until enough of the oldest entries leave the window to make room for the cost.
 */
export class SlidingWindowLogStrategy implements Strategy {
  readonly name = "sliding-window-log";

  capacity(rate: Rate): number {
    return rate.limit;
  }

  apply(state: StrategyState | undefined, now: number, cost: number, rate: Rate): Step {
    return logStep(state, now, cost, rate, false);
  }

  /**
   * Takes `points` as an entry logged now, up to the limit (an entry leaves the window after
   * `windowMs`, so there is nothing to carry past it), or gives them back from the newest
   * entries first: a refund gives back what the latest requests took.
   */
  adjust(state: StrategyState | undefined, now: number, points: number, rate: Rate): StrategyState {
    return adjustLog(state, Math.floor(now), points, rate);
  }

  /** {@link apply}, appending to `state` itself: O(1) amortized instead of a copy of the log. */
  applyInPlace(state: number[] | undefined, now: number, cost: number, rate: Rate): Step {
    // A subclass that decides its own way is not bypassed.
    if (this.apply !== SlidingWindowLogStrategy.prototype.apply)
      return this.apply(state, now, cost, rate);
    return logStep(state, now, cost, rate, true);
  }
}

function logStep(
  state: StrategyState | undefined,
  at: number,
  cost: number,
  rate: Rate,
  reuse: boolean,
): Step {
  const { limit, windowMs } = rate;
  const now = Math.floor(at);
  const live = isLiveLog(state, now);
  const length = live ? state.length : FIRST_ENTRY;
  // Entries are oldest first: skip those that have left the window.
  let first = FIRST_ENTRY;
  let used = live ? (state[1] as number) : 0;
  while (first < length && (state?.[first] as number) + windowMs <= now) {
    used -= state?.[first + 1] as number;
    first += 2;
  }
  const newest = first < length ? (state?.[length - 2] as number) : now - windowMs;
  if (cost > limit) return beyondCapacity(state, now, Math.max(0, limit - used));

  if (used + cost > limit) {
    const mustFree = used + cost - limit;
    let freed = 0;
    let retryAfterMs = 0;
    for (let i = first; i < length; i += 2) {
      freed += state?.[i + 1] as number;
      if (freed >= mustFree) {
        retryAfterMs = (state?.[i] as number) + windowMs - now;
        break;
      }
    }
    return rejected(state ?? [], limit - used, retryAfterMs, newest + windowMs - now);
  }
  // The live entries behind a fresh header: the state itself, or a native copy.
  let next: number[];
  if (!live) next = [0, 0];
  else if (!reuse) next = state.slice(first - FIRST_ENTRY);
  else {
    next = state as number[];
    if (first > FIRST_ENTRY) next.splice(FIRST_ENTRY, first - FIRST_ENTRY);
  }
  if (cost > 0) {
    // Entries stay oldest first even if the clock steps back: a request is logged no earlier
    // than the newest entry, so the log's expiry is its newest entry's, never an older one's.
    if (first < length && newest >= now) next[next.length - 1] = (next.at(-1) as number) + cost;
    else next.push(now, cost);
  }
  used += cost;
  const expiresAt = next.length > FIRST_ENTRY ? (next[next.length - 2] as number) + windowMs : now;
  next[0] = expiresAt;
  next[1] = used;
  return {
    state: next,
    allowed: true,
    remaining: limit - used,
    retryAfterMs: 0,
    resetAfterMs: expiresAt - now,
    delayMs: 0,
  };
}

function adjustLog(
  state: StrategyState | undefined,
  now: number,
  points: number,
  { limit, windowMs }: Rate,
): StrategyState {
  const entries: number[] = [];
  let used = 0;
  if (isLiveLog(state, now)) {
    for (let i = FIRST_ENTRY; i < state.length; i += 2) {
      const at = state[i] as number;
      const cost = state[i + 1] as number;
      if (at + windowMs <= now || !(cost > 0)) continue;
      entries.push(at, cost);
      used += cost;
    }
  }
  if (points > 0) {
    const taken = Math.min(points, limit - used);
    const newest = entries.length > 0 ? (entries.at(-2) as number) : now - windowMs;
    // As `apply` logs: never before the newest entry, so the log stays oldest first.
    if (taken > 0 && entries.length > 0 && newest >= now) {
      entries[entries.length - 1] = (entries.at(-1) as number) + taken;
    } else if (taken > 0) entries.push(now, taken);
    used += Math.max(0, taken);
  } else {
    let back = -points;
    while (back > 0 && entries.length > 0) {
      const cost = entries.at(-1) as number;
      const given = Math.min(back, cost);
      back -= given;
      used -= given;
      if (given === cost) entries.length -= 2;
      else entries[entries.length - 1] = cost - given;
    }
  }
  const expiresAt = entries.length > 0 ? (entries.at(-2) as number) + windowMs : now;
  return [expiresAt, used, ...entries];
}

/** A log of even length whose header is finite and not yet expired. */
function isLiveLog(state: StrategyState | undefined, now: number): state is StrategyState {
  return (
    state !== undefined &&
    state.length >= FIRST_ENTRY &&
    state.length % 2 === 0 &&
    (state[0] as number) > now &&
    Number.isFinite(state[1])
  );
}
