import type { Rate } from "../rate.js";
import { formatDuration } from "./duration.js";
import { UsageError } from "./usage-error.js";

/** The shapes of generated traffic. */
export const PATTERNS = ["steady", "burst", "ramp"] as const;

/** A generated traffic shape: see {@link generateTraffic}. */
export type PatternName = (typeof PATTERNS)[number];

/** Arrivals beyond this make a picture no one can read and a file no one wants. */
export const MAX_ARRIVALS = 20_000;

/** One client's requests: when each arrives, and the span of time the picture shows. */
export interface Traffic {
  /** Arrival times in whole ms on the deciding clock, in order. */
  readonly arrivals: readonly number[];
  /** Where the picture's time axis starts (its 0). */
  readonly fromMs: number;
  /** Where the picture's time axis ends. */
  readonly toMs: number;
  /** The traffic in words, for titles: "burst 25/2s from 900ms". */
  readonly label: string;
}

/** What shapes a generated pattern. */
export interface PatternOptions {
  /**
   * The offered rate: for `steady`, the constant rate; for `burst`, `limit` requests every
   * `windowMs`, packed into the first tenth of it; for `ramp`, the rate reached at the end,
   * rising evenly from 0.
   */
  readonly offered: Rate;
  /** How long the traffic lasts, in ms from 0. */
  readonly durationMs: number;
  /** When the first request (the first burst, the ramp) comes, in ms. */
  readonly startMs: number;
}

/**
 * The arrival times of a pattern, in whole ms from 0 (the clock's origin, so fixed windows
 * begin at 0). Pure and deterministic: the same options give the same arrivals.
 *
 * @throws {UsageError} when the traffic would hold more than {@link MAX_ARRIVALS} requests.
 */
export function generateTraffic(pattern: PatternName, options: PatternOptions): Traffic {
  const { offered, durationMs, startMs } = options;
  const { limit, windowMs } = offered;
  const arrivals: number[] = [];
  const add = (at: number): boolean => {
    if (at >= durationMs) return false;
    if (arrivals.length === MAX_ARRIVALS) {
      throw new UsageError(
        `The traffic holds more than ${MAX_ARRIVALS} requests; shorten --duration or lower --offered.`,
      );
    }
    arrivals.push(at);
    return true;
  };
  if (pattern === "steady") {
    // Times from the count, never by adding up intervals, so no rounding error builds up.
    for (let i = 0; add(startMs + Math.floor((i * windowMs) / limit)); i++);
  } else if (pattern === "burst") {
    for (let period = startMs; period < durationMs; period += windowMs) {
      for (let i = 0; i < limit; i++) add(period + Math.floor((i * windowMs) / (10 * limit)));
    }
  } else {
    // n(t) = (limit / windowMs) * t² / (2 * span) requests by time t after the start.
    const span = durationMs - startMs;
    for (let i = 0; add(startMs + Math.floor(Math.sqrt((2 * span * windowMs * i) / limit))); i++);
  }
  const from = startMs === 0 ? "" : ` from ${formatDuration(startMs)}`;
  return { arrivals, fromMs: 0, toMs: durationMs, label: `${pattern} ${offered}${from}` };
}
