import { rejectUnknownOptions } from "../internal/known-keys.js";
import type { Rate } from "../rate.js";
import { wholeNumberOption } from "./options.js";
import { scheduleAdjust, scheduleStep } from "./schedule.js";
import { beyondCapacity, type Step, type Strategy, type StrategyState } from "./strategy.js";

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
 * - State, 2 numbers: `[emptyAtMs, ticks]`, when the bucket is empty again (see `schedule.ts`:
 *   a metering leaky bucket admits exactly what a token bucket of the same size admits).
 * - Wait: until enough has leaked for the cost to fit, `(level + cost - capacity) * windowMs / limit`,
 *   rounded up.
 * - To delay requests instead of rejecting them, use {@link LeakyBucketWithQueueStrategy}.
 */
export class LeakyBucketStrategy implements Strategy {
  readonly name: string;
  /** See {@link LeakyBucketOptions.capacity}; `undefined` means the rate's limit. */
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
    return this.step(state, now, cost, rate, undefined);
  }

  /** {@link apply}, writing an admitted state into `state` itself. */
  applyInPlace(state: number[] | undefined, now: number, cost: number, rate: Rate): Step {
    // A subclass that decides its own way is not bypassed.
    if (this.apply !== LeakyBucketStrategy.prototype.apply)
      return this.apply(state, now, cost, rate);
    return this.step(state, now, cost, rate, state);
  }

  private step(
    state: StrategyState | undefined,
    now: number,
    cost: number,
    rate: Rate,
    owned: number[] | undefined,
  ): Step {
    const capacity = this.capacity(rate);
    if (cost <= capacity) return scheduleStep(state, now, cost, capacity, 0, rate, owned);
    const { remaining } = scheduleStep(state, now, 0, capacity, 0, rate);
    return beyondCapacity(state, Math.floor(now), remaining);
  }

  /** Takes or gives back `points` on the schedule (see `scheduleAdjust`): a penalty may go into debt. */
  adjust(state: StrategyState | undefined, now: number, points: number, rate: Rate): StrategyState {
    return scheduleAdjust(state, now, points, this.capacity(rate), rate);
  }
}
