import { Rate } from "../../src/rate.js";

/**
 * Published test vectors of three GCRA implementations, as facts in Traffik's terms.
 *
 * Mapping shared by every table (each table states what differs):
 * - their rate `n per period` is `Rate` n / period; their `max_burst` is Traffik's `burst - 1`
 *   (redis-cell, throttled: limit = max_burst + 1), rwz's `burst` is Traffik's `burst` as is;
 * - their times (seconds or `time.Duration` nanoseconds) are written here in milliseconds;
 * - `limited` is `!allowed`; `remaining` is `remaining`; `reset_after` is `resetAfterMs`;
 *   `retry_after` is `retryAfterMs`, where their -1 (or nil) means 0 when allowed and "never"
 *   (`Infinity`) when the cost exceeds the burst.
 */

/** What a reference asserts for one call. Times in ms; `undefined` when it asserts nothing. */
export interface Expected {
  readonly limited: boolean;
  readonly remaining?: number;
  readonly retryAfterMs?: number;
  readonly resetAfterMs?: number;
}

/** One call of a reference test, at `atMs` after the scenario's start. */
export interface Call {
  /** The reference's own case number or wording. */
  readonly id: string;
  readonly atMs: number;
  readonly cost: number;
  /** Made this many times back to back; only the last answer is checked. @default 1 */
  readonly times?: number;
  /** The client's key, for scenarios with more than one. @default "foo" */
  readonly key?: string;
  /** rwz's `peek`: inspects without charging (see {@link rwzSpecs} for its mapping). */
  readonly peek?: boolean;
  /** Absent on the calls that only set a scenario up: the reference asserts nothing there. */
  readonly expect?: Expected;
}

/** A reference test: fresh state, one rate and burst, calls in order. */
export interface Scenario {
  readonly name: string;
  readonly rate: Rate;
  /** Traffik's `burst` (GCRA) and `burstSize` (token bucket). */
  readonly burst: number;
  /** 1 when the reference asserts exact durations; 1000 when it replies in whole seconds rounded up. */
  readonly resolutionMs: 1 | 1000;
  readonly calls: readonly Call[];
}

const NEVER = Number.POSITIVE_INFINITY;

/**
 * brandur/redis-cell, src/cell/mod.rs, test `it_rate_limits`: `max_burst: 4` (burst 5),
 * `Rate::per_second(1)`; its clock starts at `now_utc()` and counts integer nanoseconds,
 * its durations are exact. throttled/throttled, rate_test.go, `TestRateLimit` (v2 layout and
 * the older one before the `/v2` path, identical cases 0-14) carries the same table from
 * `time.Unix(0, 0)`, plus case 15 (its issue #81); v1's `TestRateLimit` is a fixed window.
 * A cost beyond the burst (cases 0, 15) is "never" (retry -1) with a reset of 0 there;
 * both report `remaining` 5 for it, rwz reports 0 (its case #8): Traffik's value is not compared.
 */
const cellAndThrottledCalls: readonly Call[] = [
  { id: "0", atMs: 0, cost: 6, expect: e(true, 5, NEVER, 0) },
  { id: "1", atMs: 0, cost: 1, expect: e(false, 4, 0, 1000) },
  { id: "2", atMs: 0, cost: 1, expect: e(false, 3, 0, 2000) },
  { id: "3", atMs: 0, cost: 1, expect: e(false, 2, 0, 3000) },
  { id: "4", atMs: 0, cost: 1, expect: e(false, 1, 0, 4000) },
  { id: "5", atMs: 0, cost: 1, expect: e(false, 0, 0, 5000) },
  { id: "6", atMs: 0, cost: 1, expect: e(true, 0, 1000, 5000) },
  { id: "7", atMs: 3000, cost: 1, expect: e(false, 2, 0, 3000) },
  { id: "8", atMs: 3100, cost: 1, expect: e(false, 1, 0, 3900) },
  { id: "9", atMs: 4000, cost: 1, expect: e(false, 1, 0, 4000) },
  { id: "10", atMs: 8000, cost: 1, expect: e(false, 4, 0, 1000) },
  { id: "11", atMs: 9500, cost: 1, expect: e(false, 4, 0, 1000) },
  { id: "12 (zero cost peeks)", atMs: 9500, cost: 0, expect: e(false, 4, 0, 1000) },
  { id: "13", atMs: 9500, cost: 2, expect: e(false, 2, 0, 3000) },
  { id: "14", atMs: 9500, cost: 5, expect: e(true, 2, 3000, 3000) },
];

export const redisCellItRateLimits: Scenario = {
  name: "redis-cell it_rate_limits",
  rate: Rate.parse("1/s"),
  burst: 5,
  resolutionMs: 1,
  calls: cellAndThrottledCalls,
};

export const throttledTestRateLimit: Scenario = {
  name: "throttled TestRateLimit",
  rate: Rate.parse("1/s"),
  burst: 5,
  resolutionMs: 1,
  calls: [
    ...cellAndThrottledCalls,
    {
      id: "15 (beyond the burst after expiry)",
      atMs: 15_000,
      cost: 6,
      expect: e(true, 5, NEVER, 0),
    },
  ],
};

/**
 * brandur/redis-cell, README.md ("CL.THROTTLE user123 15 30 60") and tests/e2e.rs `it_works`
 * ("CL.THROTTLE user123 0 1 2 1"): `CL.THROTTLE key max_burst count period_s cost`. The command
 * replies in whole seconds, rounded up. `it_works` sleeps the `retry_after` it got (2 s).
 */
export const redisCellCommand: readonly Scenario[] = [
  {
    name: "redis-cell README CL.THROTTLE user123 15 30 60",
    rate: Rate.parse("30/60s"),
    burst: 16,
    resolutionMs: 1000,
    calls: [{ id: "reply", atMs: 0, cost: 1, expect: e(false, 15, 0, 2000) }],
  },
  {
    name: "redis-cell e2e it_works",
    rate: Rate.parse("1/2s"),
    burst: 1,
    resolutionMs: 1000,
    calls: [
      { id: "first", atMs: 0, cost: 1, expect: e(false, 0, 0, 2000) },
      { id: "immediately after", atMs: 0, cost: 1, expect: e(true, 0, 2000, 2000) },
      { id: "after retry_after", atMs: 2000, cost: 1, expect: e(false, 0, 0, 2000) },
    ],
  },
];

/** rwz's `test_cases`: burst, rate, cost, times called, `expected_remaining`, and `limited`. */
const rwzTestCases: readonly [number, string, number, number, number, boolean][] = [
  [4500, "75/60s", 1, 1, 4499, false],
  [4500, "75/60s", 1, 2, 4498, false],
  [4500, "75/60s", 2, 1, 4498, false],
  [1000, "100/60s", 200, 1, 800, false],
  [1000, "100/60s", 200, 4, 200, false],
  [1000, "100/60s", 200, 5, 0, false],
  [1000, "100/60s", 1, 137, 863, false],
  [1000, "100/60s", 1001, 1, 0, true],
];

/**
 * rwz/redis-gcra, spec/redis_gcra_spec.rb: `burst` as is, `rate` / `period` seconds (300, 60/60s
 * unless the row says otherwise). Its calls run at wall-clock time and it asserts times within
 * 0.1 s or 0.5 s; replayed at one instant, the centre of each tolerance is exact.
 * - A rejection's `remaining` is clamped to 0 there; Traffik reports the units still admissible,
 *   as redis-cell and throttled do (their case 14): rows that differ say so.
 * - `test_cases` rows assert only `remaining`; `limited` is what rwz's script answers.
 * - `peek` (its inspect script) reports `remaining` and `reset_after` of the stored state (Traffik:
 *   a cost-0 decision) and `limited`/`retry_after` of a cost-1 request (Traffik: a cost-1 peek).
 */
export const rwzSpecs: readonly Scenario[] = [
  rwz("calculates rate limit result", [
    { id: "100.times { call }", atMs: 0, cost: 1, times: 100 },
    { id: "result", atMs: 0, cost: 1, expect: e(false, 199, 0, 101_000) },
  ]),
  rwz("rate limits different keys independently", [
    { id: "100.times { call cost: 10 }", atMs: 0, cost: 10, times: 100 },
    { id: "bar", atMs: 0, cost: 2, key: "bar", expect: e(false, 298, 0, 2000) },
  ]),
  rwz("calculates rate limit with non-1 cost correctly", [
    { id: "100.times { call(cost: 2) }", atMs: 0, cost: 2, times: 100 },
    { id: "result", atMs: 0, cost: 2, expect: e(false, 98, 0, 202_000) },
  ]),
  rwz("limits once bucket has been depleted", [
    { id: "300.times { call }", atMs: 0, cost: 1, times: 300 },
    { id: "10.times limited", atMs: 0, cost: 1, times: 10, expect: e(true, 0, 1000, 300_000) },
  ]),
  rwz("recovers after certain time", [
    { id: "300.times { call }", atMs: 0, cost: 1, times: 300 },
    { id: "limited_result", atMs: 0, cost: 1, expect: e(true, undefined, 1000) },
    { id: "after sleeping retry_after", atMs: 1000, cost: 1, expect: e(false) },
  ]),
  rwz("should pass when cost is bigger than the remaining", [
    { id: "call cost: 299", atMs: 0, cost: 299 },
    // rwz: remaining 0 (clamped); 1 unit is still admissible.
    { id: "call(cost: 2)", atMs: 0, cost: 2, expect: e(true, 1, 1000) },
  ]),
  ...rwzTestCases.map(([burst, rate, cost, times, remaining, limited], index) =>
    rwz(
      `test case #${index + 1}`,
      [{ id: `${times} x cost ${cost}`, atMs: 0, cost, times, expect: e(limited, remaining) }],
      { burst, rate },
    ),
  ),
  rwz("#peek returns initial state without modifying it", [
    { id: "peek", atMs: 0, cost: 0, peek: true, expect: e(false, 300, 0, 0) },
  ]),
  rwz("#peek describes partially drained state correctly", [
    { id: "limit cost: 10", atMs: 0, cost: 10 },
    { id: "peek", atMs: 0, cost: 0, peek: true, expect: e(false, 290, 0, 10_000) },
  ]),
  rwz("#peek describes fully drained state correctly", [
    { id: "limit cost: 300", atMs: 0, cost: 300 },
    {
      id: "peek after sleep 0.3",
      atMs: 300,
      cost: 0,
      peek: true,
      expect: e(true, 0, 700, 299_700),
    },
  ]),
];

function rwz(
  name: string,
  calls: readonly Call[],
  { burst = 300, rate = "60/60s" }: { burst?: number; rate?: string } = {},
): Scenario {
  return { name: `rwz ${name}`, rate: Rate.parse(rate), burst, resolutionMs: 1, calls };
}

function e(
  limited: boolean,
  remaining?: number,
  retryAfterMs?: number,
  resetAfterMs?: number,
): Expected {
  return { limited, remaining, retryAfterMs, resetAfterMs };
}
