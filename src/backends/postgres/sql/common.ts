/*
 * Helpers for the PL/pgSQL mirrors of the strategies. PostgreSQL computes them in `bigint`,
 * exactly; the strategies keep every quantity a whole number below 2^53
 * (`strategies/whole-numbers.ts`), so each mirror decides exactly as its TypeScript original
 * (test/backends/postgres/parity.test.ts holds them to it). The helpers expand inline, as
 * expressions: a PL/pgSQL function call per division would cost more than the division.
 */

/** `⌊a / b⌋` for bigint expressions `a` (any sign) and `b > 0`: `/` truncates toward zero. */
export function floorDiv(a: string, b: string): string {
  return `(CASE WHEN (${a}) >= 0 THEN (${a}) / (${b}) ELSE -((-(${a}) + (${b}) - 1) / (${b})) END)`;
}

/** `⌈a / b⌉` for bigint expressions `a` (any sign) and `b > 0`. */
export function ceilDiv(a: string, b: string): string {
  return floorDiv(`(${a}) + (${b}) - 1`, b);
}

/** Whole units in `amount` unit-milliseconds of room, never below 0. */
export function unitsIn(amount: string, window: string): string {
  return `greatest(0, ${floorDiv(amount, window)})`;
}

/**
 * Whether `s` is a usable state of `length` numbers not yet expired at `t`: a missing,
 * malformed or expired state counts as none.
 */
export function isLive(length: number): string {
  return `(s IS NOT NULL AND cardinality(s) = ${length} AND array_position(s, NULL) IS NULL AND s[1] > t)`;
}

/**
 * PL/pgSQL statements answering a rejection that leaves the state as it was. Every mirror
 * sets the same outputs: `allowed`, `nxt` (the state to store), `remaining`, `retry` (NULL for
 * never), `reset` and `delay`.
 */
export function rejected(remaining: string, retry: string, reset: string): string {
  return `allowed := false; nxt := NULL; remaining := ${remaining}; retry := ${retry}; reset_ := ${reset}; delay := 0;`;
}

/** PL/pgSQL statements answering a cost beyond what the strategy can ever admit. */
export function beyondCapacity(remaining: string): string {
  return rejected(
    remaining,
    "NULL",
    "CASE WHEN s IS NULL OR s[1] IS NULL THEN 0 ELSE greatest(0, s[1] - t) END",
  );
}

/** PL/pgSQL statements answering an admitted request that leaves `state`. */
export function admitted(state: string, remaining: string, reset: string, delay = "0"): string {
  return `allowed := true; nxt := ${state}; remaining := ${remaining}; retry := 0; reset_ := ${reset}; delay := ${delay};`;
}
