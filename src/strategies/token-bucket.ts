import { rejectUnknownOptions } from "../internal/known-keys.js";
import type { Rate } from "../rate.js";
import { wholeNumberOption } from "./options.js";
import { scheduleAdjust, scheduleStep } from "./schedule.js";
import { beyondCapacity, type Step, type Strategy, type StrategyState } from "./strategy.js";

/** Options of {@link TokenBucketStrategy}. */
export interface TokenBucketOptions {
  /** Tokens the bucket holds: the largest burst admitted at once. @default rate.limit */
  burstSize?: number;
}

/**
 * Token bucket: a bucket of `burstSize` tokens, full at first, refilled continuously at
 * `limit` tokens per `windowMs`; a request takes `cost` tokens or is rejected.
 *
 * - Admits bursts up to `burstSize`, and at most `burstSize + limit * t / windowMs` units in any
 *   interval of length t.
 * - State, 2 numbers: `[fullAtMs, ticks]`, when the bucket is full again (see `schedule.ts`),
 *   exact at any clock.
 * - Wait: the time to refill the missing tokens, `(cost - tokens) * windowMs / limit`, rounded up.
 */
export class TokenBucketStrategy implements Strategy {
  readonly name: string;
  /** See {@link TokenBucketOptions.burstSize}; `undefined` means the rate's limit. */
  readonly burstSize: number | undefined;

  constructor(options: TokenBucketOptions = {}) {
    rejectUnknownOptions("TokenBucketStrategy", options, { burstSize: true });
    this.burstSize = wholeNumberOption("TokenBucketStrategy", "burstSize", options.burstSize, 1);
    this.name = `token-bucket:${this.burstSize ?? "limit"}`;
  }

  capacity(rate: Rate): number {
    return this.burstSize ?? rate.limit;
  }

  apply(state: StrategyState | undefined, now: number, cost: number, rate: Rate): Step {
    return this.step(state, now, cost, rate, undefined);
  }

  /** {@link apply}, writing an admitted state into `state` itself. */
  applyInPlace(state: number[] | undefined, now: number, cost: number, rate: Rate): Step {
    // A subclass that decides its own way is not bypassed.
    if (this.apply !== TokenBucketStrategy.prototype.apply)
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
    const burst = this.capacity(rate);
    if (cost <= burst) return scheduleStep(state, now, cost, burst, 0, rate, owned);
    const { remaining } = scheduleStep(state, now, 0, burst, 0, rate);
    return beyondCapacity(state, Math.floor(now), remaining);
  }

  /** Takes or gives back `points` on the schedule (see `scheduleAdjust`): a penalty may go into debt. */
  adjust(state: StrategyState | undefined, now: number, points: number, rate: Rate): StrategyState {
    return scheduleAdjust(state, now, points, this.capacity(rate), rate);
  }
}
