import { rejectUnknownOptions } from "../internal/known-keys.js";
import type { Rate } from "../rate.js";
import { wholeNumberOption } from "./options.js";
import {
  beyondCapacity,
  EPSILON,
  isLive,
  rejected,
  type Step,
  type Strategy,
  type StrategyState,
  wholeUnits,
} from "./strategy.js";

/** Options of {@link GCRAStrategy}. */
export interface GCRAOptions {
  /** Units admitted back to back from a rested state. @default rate.limit */
  burst?: number;
}

/**
 * Generic cell rate algorithm: keeps one time per client, the theoretical arrival time (TAT) of
 * its next unit at the steady rate; a request is admitted when it arrives no earlier than
 * `burst` emission intervals ahead of that schedule. The same decisions as a token bucket of
 * `burst` tokens, in a single number.
 *
 * - Admits at most `burst + limit * t / windowMs` units in any interval of length t.
 * - State, 1 number: `[tat]`.
 * - Wait: `tat + cost * interval - burst * interval - now`, where `interval = windowMs / limit`.
 */
export class GCRAStrategy implements Strategy {
  readonly name: string;
  readonly burst: number | undefined;

  constructor(options: GCRAOptions = {}) {
    rejectUnknownOptions("GCRAStrategy", options, { burst: true });
    this.burst = wholeNumberOption("GCRAStrategy", "burst", options.burst, 1);
    this.name = `gcra:${this.burst ?? "limit"}`;
  }

  capacity(rate: Rate): number {
    return this.burst ?? rate.limit;
  }

  apply(state: StrategyState | undefined, now: number, cost: number, rate: Rate): Step {
    const burst = this.capacity(rate);
    if (cost > burst) return beyondCapacity(state, now);
    const interval = rate.windowMs / rate.limit;
    const tolerance = burst * interval;
    const tat = isLive(state, 1, now) ? (state[0] as number) : now;
    const newTat = tat + cost * interval;
    const aheadMs = newTat - now;
    if (aheadMs > tolerance + EPSILON * interval) {
      const remaining = wholeUnits((tolerance - (tat - now)) / interval);
      return rejected(state ?? [], remaining, aheadMs - tolerance, tat - now);
    }
    return {
      state: [newTat],
      allowed: true,
      remaining: wholeUnits((tolerance - aheadMs) / interval),
      retryAfterMs: 0,
      resetAfterMs: aheadMs,
      delayMs: 0,
    };
  }
}
