import type { Rate } from "../rate.js";
import { isLive, rejected, type Step, type StrategyState, twoNumbers } from "./strategy.js";
import { ceilDiv, floorDiv, MAX_UNIT_MS, unitsIn } from "./whole-numbers.js";

/**
 * The one algorithm behind the token bucket (with and without debt), the leaky bucket as a
 * meter and GCRA, which admit the same requests: a bucket of `size` units that refills (or
 * leaks) `limit` units per `windowMs` and may be drawn `debt` units below empty.
 *
 * The state is a schedule, not a level: `[fullAtMs, ticks]`, the time the bucket is full
 * again (GCRA's theoretical arrival time), as whole ms less `ticks` of 1/limit ms. What is
 * missing from a full bucket at any time `t` follows from it, `(fullAt - t) * limit`
 * unit-milliseconds (a unit is `windowMs` of them), so every quantity is a whole number, and a
 * clock that steps back sees a fuller schedule, never a refill it already had. An admitted
 * state is written into `owned` when given (see `Strategy.applyInPlace`).
 */
export function scheduleStep(
  state: StrategyState | undefined,
  now: number,
  cost: number,
  size: number,
  debt: number,
  { limit, windowMs }: Rate,
  owned?: number[],
): Step {
  const t = Math.floor(now);
  const missing = isLive(state, 2, t)
    ? Math.max(0, ((state[0] as number) - t) * limit - (state[1] as number))
    : 0;
  const available = (size + debt) * windowMs - missing;
  const needed = cost * windowMs;
  if (needed > available) {
    return rejected(
      state ?? [],
      unitsIn(available, windowMs),
      ceilDiv(needed - available, limit),
      ceilDiv(missing, limit),
    );
  }
  const after = missing + needed;
  const fullAfterMs = ceilDiv(after, limit);
  return {
    state: twoNumbers(owned, t + fullAfterMs, fullAfterMs * limit - after),
    allowed: true,
    remaining: floorDiv(available - needed, windowMs),
    retryAfterMs: 0,
    resetAfterMs: fullAfterMs,
    delayMs: 0,
  };
}

/**
 * The schedule after `points` units are taken (`points > 0`) or given back (`points < 0`) at
 * `now`, for a bucket of `room` units (its size and debt, or a queue and the unit that starts
 * now): what is missing moves by `points * windowMs` unit-ms, never below a full bucket, and a
 * penalty goes at most one bucket past empty, so the client waits at most twice a full refill
 * (and every product stays exact, below 2^52).
 */
export function scheduleAdjust(
  state: StrategyState | undefined,
  now: number,
  points: number,
  room: number,
  { limit, windowMs }: Rate,
): StrategyState {
  const t = Math.floor(now);
  const missing = isLive(state, 2, t)
    ? Math.max(0, ((state[0] as number) - t) * limit - (state[1] as number))
    : 0;
  const most = Math.min(2 * room * windowMs, MAX_UNIT_MS);
  const after = Math.min(most, Math.max(0, missing + points * windowMs));
  const fullAfterMs = ceilDiv(after, limit);
  return [t + fullAfterMs, fullAfterMs * limit - after];
}
