import { rejectUnknownOptions } from "../internal/known-keys.js";
import type { Rate } from "../rate.js";
import { wholeNumberOption } from "./options.js";
import { scheduleAdjust, scheduleStep } from "./schedule.js";
import { beyondCapacity, type Step, type Strategy, type StrategyState } from "./strategy.js";

/** Options of {@link GCRAStrategy}. */
export interface GCRAOptions {
  /** Units admitted back to back from a rested state. @default rate.limit */
  burst?: number;
}

/**
 * Generic cell rate algorithm: keeps one time per client, the theoretical arrival time (TAT) of
 * its next unit at the steady rate; a request is admitted when it arrives no earlier than
 * `burst` emission intervals ahead of that schedule. The same decisions as a token bucket of
 * `burst` tokens (it is computed by the same function, `schedule.ts`).
 *
 * - Admits at most `burst + limit * t / windowMs` units in any interval of length t.
 * - State, 2 numbers: `[tatMs, ticks]`, the TAT as whole ms less `ticks` of 1/limit ms, so it is
 *   exact at any clock (an interval of `windowMs / limit` ms is rarely a whole number).
 * - Wait: `tat + cost * interval - burst * interval - now`, where `interval = windowMs / limit`,
 *   rounded up to a whole ms.
 */
export class GCRAStrategy implements Strategy {
  readonly name: string;
  /** See {@link GCRAOptions.burst}; `undefined` means the rate's limit. */
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
    return this.step(state, now, cost, rate, undefined);
  }

  /** {@link apply}, writing an admitted state into `state` itself. */
  applyInPlace(state: number[] | undefined, now: number, cost: number, rate: Rate): Step {
    // A subclass that decides its own way is not bypassed.
    if (this.apply !== GCRAStrategy.prototype.apply) return this.apply(state, now, cost, rate);
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
