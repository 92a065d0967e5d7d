import { ConfigurationError } from "./errors.js";
import { type OptionNames, rejectUnknownOptions } from "./internal/known-keys.js";

/** The parts of a window, added together: `{ minutes: 5, seconds: 30 }` is 330 000 ms. */
export interface RateInit {
  /** How many units (requests, or cost) the window admits. A whole number of at least 1. */
  limit: number;
  /** Milliseconds of the window. */
  milliseconds?: number;
  /** Seconds of the window. */
  seconds?: number;
  /** Minutes of the window. */
  minutes?: number;
  /** Hours of the window. */
  hours?: number;
  /** Days of the window. */
  days?: number;
}

const MS_PER_UNIT: Readonly<Record<string, number>> = {
  ms: 1,
  millisecond: 1,
  milliseconds: 1,
  s: 1_000,
  sec: 1_000,
  secs: 1_000,
  second: 1_000,
  seconds: 1_000,
  m: 60_000,
  min: 60_000,
  mins: 60_000,
  minute: 60_000,
  minutes: 60_000,
  h: 3_600_000,
  hr: 3_600_000,
  hrs: 3_600_000,
  hour: 3_600_000,
  hours: 3_600_000,
  d: 86_400_000,
  day: 86_400_000,
  days: 86_400_000,
};

/** The names of {@link RateInit}, for the check of unknown keys. */
const RATE_PARTS = {
  limit: true,
  milliseconds: true,
  seconds: true,
  minutes: true,
  hours: true,
  days: true,
} as const satisfies OptionNames<RateInit>;

/** Longer rate text is refused unread: no real rate needs more, and hostile text costs nothing. */
const MAX_RATE_LENGTH = 64;

// Parsed rates are immutable, so a parse is cached; the cap keeps hostile inputs from growing it.
const parsed = new Map<string, Rate>();
const PARSE_CACHE_SIZE = 256;

function fail(input: unknown, why: string): never {
  // Only the start of an overlong input is quoted, so the message stays readable and small.
  const quoted =
    typeof input === "string" && input.length > MAX_RATE_LENGTH
      ? `${JSON.stringify(input.slice(0, 24))}…`
      : JSON.stringify(input);
  throw new ConfigurationError(`Invalid rate ${quoted}: ${why}.`);
}

/** The parts of rate text: `<limit> (/ | per) [count] <unit>`, with optional whitespace. */
interface RateText {
  readonly limit: string;
  readonly count: string | undefined;
  readonly unit: string;
}

/**
 * Reads `"100/m"`, `"5/10s"`, `"2 per second"`, `"10/30 seconds"` in one pass, left to right:
 * no backtracking, so any input costs time in proportion to its length. "per" needs
 * whitespace on both sides; whitespace is what `String.prototype.trim` removes.
 */
function scanRate(input: string): RateText | undefined {
  let at = 0;
  const isSpace = (i: number): boolean => i < input.length && input.charAt(i).trim() === "";
  const skipSpaces = (): number => {
    const from = at;
    while (isSpace(at)) at++;
    return at - from;
  };
  const take = (accepts: (code: number) => boolean): string => {
    const from = at;
    while (at < input.length && accepts(input.charCodeAt(at))) at++;
    return input.slice(from, at);
  };
  const isDigit = (code: number): boolean => code >= 48 && code <= 57;
  const isLetter = (code: number): boolean => (code | 32) >= 97 && (code | 32) <= 122;

  skipSpaces();
  const limit = take(isDigit);
  if (limit === "") return undefined;
  const spaceBefore = skipSpaces();
  if (input.charAt(at) === "/") {
    at++;
  } else {
    if (spaceBefore === 0 || input.slice(at, at + 3).toLowerCase() !== "per") return undefined;
    at += 3;
    if (skipSpaces() === 0) return undefined;
  }
  skipSpaces();
  const count = take(isDigit);
  skipSpaces();
  const unit = take(isLetter);
  skipSpaces();
  if (unit === "" || at !== input.length) return undefined;
  return { limit, count: count === "" ? undefined : count, unit };
}

/**
 * A limit per window: `limit` units every `windowMs` milliseconds. Immutable.
 *
 * @example
 * Rate.parse("100/m");                    // 100 per minute
 * Rate.parse("5/10s");                    // 5 per 10 seconds
 * new Rate({ limit: 100, minutes: 5, seconds: 30 }); // 100 per 330 000 ms
 */
export class Rate {
  /** Units admitted per window. */
  readonly limit: number;
  /** The window, in whole milliseconds. */
  readonly windowMs: number;

  /** @throws {ConfigurationError} when the limit or the window is not a positive whole number. */
  constructor(init: RateInit) {
    rejectUnknownOptions("Rate", init, RATE_PARTS);
    const { limit, milliseconds = 0, seconds = 0, minutes = 0, hours = 0, days = 0 } = init;
    if (!Number.isSafeInteger(limit) || limit < 1) {
      fail(init, "the limit must be a whole number from 1 to Number.MAX_SAFE_INTEGER");
    }
    const parts = [milliseconds, seconds, minutes, hours, days];
    if (!parts.every((part) => Number.isFinite(part) && part >= 0)) {
      fail(init, "every part of the window must be a finite number of at least 0");
    }
    const windowMs =
      milliseconds + seconds * 1_000 + minutes * 60_000 + hours * 3_600_000 + days * 86_400_000;
    if (!Number.isSafeInteger(windowMs) || windowMs < 1) {
      fail(
        init,
        "the window must be a whole number of milliseconds, at least 1 and at most 2^53 - 1",
      );
    }
    this.limit = limit;
    this.windowMs = windowMs;
    Object.freeze(this);
  }

  /**
   * Parses `"<limit>/<count><unit>"` or `"<limit> per <count> <unit>"`; the count defaults to 1.
   * Units: ms, s/sec/second(s), m/min/minute(s), h/hr/hour(s), d/day(s). Text longer than 64
   * characters is refused unread.
   *
   * @throws {ConfigurationError} quoting the input (its start, when too long), for anything else.
   */
  static parse(input: string): Rate {
    const cached = parsed.get(input);
    if (cached) return cached;
    if (typeof input !== "string") fail(input, 'expected a string such as "100/m"');
    if (input.length > MAX_RATE_LENGTH) {
      fail(
        input,
        `longer than ${MAX_RATE_LENGTH} characters (${input.length}); write it as "100/m"`,
      );
    }
    const text = scanRate(input);
    if (!text)
      fail(input, 'expected "<limit>/<period>" such as "100/m", "5/10s" or "2 per second"');
    const { limit: limitText, count: countText, unit: unitText } = text;
    const unitMs = MS_PER_UNIT[unitText.toLowerCase()];
    if (unitMs === undefined) {
      fail(input, `unknown unit "${unitText}" (use ms, s, m, h or d)`);
    }
    const limit = Number(limitText);
    const count = countText === undefined ? 1 : Number(countText);
    if (!Number.isSafeInteger(limit) || limit < 1) {
      fail(input, "the limit must be a whole number from 1 to Number.MAX_SAFE_INTEGER");
    }
    const windowMs = count * unitMs;
    if (!Number.isSafeInteger(windowMs) || windowMs < 1) {
      fail(input, "the window must be at least 1 ms and at most 2^53 - 1 ms");
    }
    const rate = new Rate({ limit, milliseconds: windowMs });
    if (parsed.size >= PARSE_CACHE_SIZE) parsed.clear();
    parsed.set(input, rate);
    return rate;
  }

  /** A `Rate` as is, or a string parsed with {@link Rate.parse}. */
  static from(rate: Rate | string): Rate {
    if (rate instanceof Rate) return rate;
    if (typeof rate === "string") return Rate.parse(rate);
    return fail(rate, 'expected a Rate or a string such as "100/m"');
  }

  /** Milliseconds between two units at the steady rate: `windowMs / limit`. */
  get intervalMs(): number {
    return this.windowMs / this.limit;
  }

  /** Compact form, such as `"100/1m"` or `"5/10s"`; {@link Rate.parse} reads it back. */
  toString(): string {
    for (const [unit, ms] of [
      ["d", 86_400_000],
      ["h", 3_600_000],
      ["m", 60_000],
      ["s", 1_000],
    ] as const) {
      if (this.windowMs % ms === 0) return `${this.limit}/${this.windowMs / ms}${unit}`;
    }
    return `${this.limit}/${this.windowMs}ms`;
  }
}
