import { rejectUnknownOptions } from "../internal/known-keys.js";
import type { Rate } from "../rate.js";
import { wholeNumberOption } from "./options.js";
import { scheduleAdjust, scheduleStep } from "./schedule.js";
import { beyondCapacity, type Step, type Strategy, type StrategyState } from "./strategy.js";

/** Options of {@link TokenBucketWithDebtStrategy}. */
export interface TokenBucketWithDebtOptions {
  /** Tokens the bucket holds when full. @default rate.limit */
  burstSize?: number;
  /** Tokens a client may borrow beyond an empty bucket. @default rate.limit */
  maxDebt?: number;
}

/**
 * Token bucket with debt: like {@link TokenBucketStrategy}, but a client may take up to `maxDebt`
 * tokens it does not have yet, and then repays them out of the refill before it is admitted
 * again. Good for rare large requests that must not fail outright.
 *
 * - Admits at most `burstSize + maxDebt + limit * t / windowMs` units in any interval of length t.
 * - State, 2 numbers: `[fullAtMs, ticks]`, when the bucket is full again (see `schedule.ts`);
 *   the bucket goes down to `-maxDebt` tokens.
 * - Wait: the time to refill until `tokens + maxDebt` covers the cost, rounded up.
 */
export class TokenBucketWithDebtStrategy implements Strategy {
  readonly name: string;
  /** See {@link TokenBucketWithDebtOptions.burstSize}; `undefined` means the rate's limit. */
  readonly burstSize: number | undefined;
  /** See {@link TokenBucketWithDebtOptions.maxDebt}; `undefined` means the rate's limit. */
  readonly maxDebt: number | undefined;

  constructor(options: TokenBucketWithDebtOptions = {}) {
    rejectUnknownOptions("TokenBucketWithDebtStrategy", options, {
      burstSize: true,
      maxDebt: true,
    });
    const strategy = "TokenBucketWithDebtStrategy";
    this.burstSize = wholeNumberOption(strategy, "burstSize", options.burstSize, 1);
    this.maxDebt = wholeNumberOption(strategy, "maxDebt", options.maxDebt, 0);
    this.name = `token-bucket-debt:${this.burstSize ?? "limit"}:${this.maxDebt ?? "limit"}`;
  }

  capacity(rate: Rate): number {
    return (this.burstSize ?? rate.limit) + (this.maxDebt ?? rate.limit);
  }

  apply(state: StrategyState | undefined, now: number, cost: number, rate: Rate): Step {
    return this.step(state, now, cost, rate, undefined);
  }

  /** {@link apply}, writing an admitted state into `state` itself. */
  applyInPlace(state: number[] | undefined, now: number, cost: number, rate: Rate): Step {
    // A subclass that decides its own way is not bypassed.
    if (this.apply !== TokenBucketWithDebtStrategy.prototype.apply)
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
    const burst = this.burstSize ?? rate.limit;
    const maxDebt = this.maxDebt ?? rate.limit;
    if (cost <= burst + maxDebt) return scheduleStep(state, now, cost, burst, maxDebt, rate, owned);
    const { remaining } = scheduleStep(state, now, 0, burst, maxDebt, rate);
    return beyondCapacity(state, Math.floor(now), remaining);
  }

  /** Takes or gives back `points` on the schedule (see `scheduleAdjust`): a penalty may go into debt. */
  adjust(state: StrategyState | undefined, now: number, points: number, rate: Rate): StrategyState {
    return scheduleAdjust(state, now, points, this.capacity(rate), rate);
  }
}
