/*
 * Exact arithmetic for the strategies. Every strategy computes in whole numbers only, so the
 * same decision comes out at a clock of 0 and at a clock of 2^45 ms, in TypeScript and in its
 * Lua mirror alike (both compute with doubles, which hold whole numbers exactly below 2^53):
 *
 * - time in whole milliseconds (`now` is floored once, at the start of a decision);
 * - quantities that refill or leak continuously (tokens, a bucket's level) in unit-milliseconds:
 *   one unit is `windowMs` of them, and `limit` of them refill or leak per millisecond;
 * - times on a schedule (GCRA's theoretical arrival time, a queue's next start) as whole
 *   milliseconds plus the ticks of 1/limit ms before them: one emission interval,
 *   `windowMs / limit` ms, is `windowMs` ticks.
 *
 * Every product stays within `capacity * windowMs` (plus `limit`), which `Rate` and the
 * throttle keep below 2^52. Durations handed out are rounded up to whole milliseconds, so a
 * client that waits exactly what it was told, on a whole-millisecond clock, is admitted.
 */

/** `⌊a / b⌋` for whole numbers `a` (of any sign) and `b > 0`, exact wherever `a` is. */
export function floorDiv(a: number, b: number): number {
  const r = a % b; // exact: the remainder of two doubles is always representable
  return (a - r) / b - (r < 0 ? 1 : 0);
}

/** `⌈a / b⌉` for whole numbers `a` (of any sign) and `b > 0` (never -0). */
export function ceilDiv(a: number, b: number): number {
  return floorDiv(a + b - 1, b);
}

/**
 * The largest `capacity * windowMs` the strategies compute with: below 2^53 with room for the
 * sums they form (a limit or a stepped-back clock's offset added to it).
 */
export const MAX_UNIT_MS = 2 ** 52;

/** Whole units in `amount` unit-milliseconds (or ticks) of room, never below 0. */
export function unitsIn(amount: number, windowMs: number): number {
  return Math.max(0, floorDiv(amount, windowMs));
}
