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

/** Options of {@link LeakyBucketStrategy}. */
export interface LeakyBucketOptions {
  /**
   * Units the bucket holds. 1 allows no burst at all: units are admitted no closer than
   * `windowMs / limit` apart. @default rate.limit
   */
  capacity?: number;
}

/**
 * Leaky bucket as a meter (policing): each admitted unit pours into a bucket that leaks at
 * `limit` units per `windowMs`; a request that would overflow the bucket is rejected. Output
 * never exceeds the leak rate once the bucket is full; lower `capacity` for smoother traffic.
 *
 * - Admits at most `capacity + limit * t / windowMs` units in any interval of length t.
 * - State, 3 numbers: `[emptyAt, level, updatedAt]`.
 * - Wait: until enough has leaked for the cost to fit, `(level + cost - capacity) * windowMs / limit`.
 * - To delay requests instead of rejecting them, use {@link LeakyBucketWithQueueStrategy}.
 */
export class LeakyBucketStrategy implements Strategy {
  readonly name: string;
  readonly bucketCapacity: number | undefined;

  constructor(options: LeakyBucketOptions = {}) {
    rejectUnknownOptions("LeakyBucketStrategy", options, { capacity: true });
    this.bucketCapacity = wholeNumberOption("LeakyBucketStrategy", "capacity", options.capacity, 1);
    this.name = `leaky-bucket:${this.bucketCapacity ?? "limit"}`;
  }

  capacity(rate: Rate): number {
    return this.bucketCapacity ?? rate.limit;
  }

  apply(state: StrategyState | undefined, now: number, cost: number, rate: Rate): Step {
    const capacity = this.capacity(rate);
    if (cost > capacity) return beyondCapacity(state, now);
    const leakPerMs = rate.limit / rate.windowMs;
    let level = 0;
    if (isLive(state, 3, now)) {
      const leaked = Math.max(0, now - (state[2] as number)) * leakPerMs;
      level = Math.max(0, (state[1] as number) - leaked);
    }
    if (level + cost > capacity + EPSILON) {
      const retryAfterMs = (level + cost - capacity) / leakPerMs;
      return rejected(state ?? [], wholeUnits(capacity - level), retryAfterMs, level / leakPerMs);
    }
    const filled = level + cost;
    const resetAfterMs = filled / leakPerMs;
    return {
      state: [now + resetAfterMs, filled, now],
      allowed: true,
      remaining: wholeUnits(capacity - filled),
      retryAfterMs: 0,
      resetAfterMs,
      delayMs: 0,
    };
  }
}
