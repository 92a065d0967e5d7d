import { rejectUnknownOptions } from "../internal/known-keys.js";
import type { Rate } from "../rate.js";
import { wholeNumberOption } from "./options.js";
import { scheduleAdjust } from "./schedule.js";
import {
  beyondCapacity,
  isLive,
  rejected,
  type Step,
  type Strategy,
  type StrategyState,
  twoNumbers,
} from "./strategy.js";
import { ceilDiv, floorDiv } from "./whole-numbers.js";

/** Options of {@link LeakyBucketWithQueueStrategy}. */
export interface LeakyBucketWithQueueOptions {
  /** Units that may wait in the queue; beyond it, requests are rejected. @default rate.limit */
  queueSize?: number;
}

/**
 * Leaky bucket as a queue (shaping): requests leave the queue one unit every
 * `windowMs / limit`, so admitted requests start no closer than that apart and output has no
 * bursts at all. A request that fits the queue is admitted with a `delayMs` to wait before it
 * starts (the throttle awaits it); when `queueSize` units are already waiting it is rejected.
 *
 * - State, 2 numbers: `[nextStartMs, ticks]`, when the next unit may start, as whole ms less
 *   `ticks` of 1/limit ms, so it is exact at any clock.
 * - Delay: `nextStart - now` when positive, rounded up to a whole ms.
 * - Wait (rejected): until the queue has drained enough for the request to fit.
 * - Release: a request abandoned before its turn gives its place back (see {@link release}).
 */
export class LeakyBucketWithQueueStrategy implements Strategy {
  readonly name: string;
  /** See {@link LeakyBucketWithQueueOptions.queueSize}; `undefined` means the rate's limit. */
  readonly queueSize: number | undefined;

  constructor(options: LeakyBucketWithQueueOptions = {}) {
    rejectUnknownOptions("LeakyBucketWithQueueStrategy", options, { queueSize: true });
    const queueSize = options.queueSize;
    this.queueSize = wholeNumberOption("LeakyBucketWithQueueStrategy", "queueSize", queueSize, 0);
    this.name = `leaky-bucket-queue:${this.queueSize ?? "limit"}`;
  }

  /** The request's own first unit starts right away or waits its turn; the rest queue. */
  capacity(rate: Rate): number {
    return (this.queueSize ?? rate.limit) + 1;
  }

  apply(state: StrategyState | undefined, now: number, cost: number, rate: Rate): Step {
    return this.step(state, now, cost, rate, undefined);
  }

  /** {@link apply}, writing an admitted state into `state` itself. */
  applyInPlace(state: number[] | undefined, now: number, cost: number, rate: Rate): Step {
    // A subclass that decides its own way is not bypassed.
    if (this.apply !== LeakyBucketWithQueueStrategy.prototype.apply)
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
    const { limit, windowMs } = rate;
    const t = Math.floor(now);
    // Times in ticks of 1/limit ms, so an interval (windowMs / limit ms) is windowMs ticks.
    const queue = (this.queueSize ?? rate.limit) * windowMs;
    const live = isLive(state, 2, t);
    const wait = live ? Math.max(0, ((state[0] as number) - t) * limit - (state[1] as number)) : 0;
    // Units that could still start: the queue's free room, plus the one starting now.
    const free = Math.max(0, floorDiv(queue - wait, windowMs) + 1);
    if (cost > this.capacity(rate)) return beyondCapacity(state, t, free);
    // The request's last unit must start within the queue's span.
    const overflow = wait + (cost - 1) * windowMs - queue;
    if (overflow > 0) {
      return rejected(state ?? [], free, ceilDiv(overflow, limit), ceilDiv(wait, limit));
    }
    const backlog = wait + cost * windowMs;
    const backlogMs = ceilDiv(backlog, limit);
    return {
      state: twoNumbers(owned, t + backlogMs, backlogMs * limit - backlog),
      allowed: true,
      remaining: floorDiv(queue - backlog, windowMs) + 1,
      retryAfterMs: 0,
      resetAfterMs: backlogMs,
      delayMs: cost > 0 ? ceilDiv(wait, limit) : 0,
    };
  }

  /**
   * The queue without the request that left `admitted`: its `cost * windowMs` ticks taken off
   * the next start. A later arrival then starts where the abandoned request would have, which
   * keeps the spacing only while nothing queued behind it (the backend checks that).
   */
  release(admitted: StrategyState, cost: number, rate: Rate): StrategyState {
    const { limit, windowMs } = rate;
    // Ticks before admitted[0] at which the next unit now starts: counted from admitted[0],
    // never as an absolute product, so it stays exact at any clock.
    const back = (admitted[1] as number) + cost * windowMs;
    const wholeMs = floorDiv(back, limit);
    return [(admitted[0] as number) - wholeMs, back - wholeMs * limit];
  }

  /**
   * Moves the next start by `points` units (see `scheduleAdjust`): a penalty makes the client's
   * next request wait longer, a reward lets it start sooner, never before the queue is empty.
   */
  adjust(state: StrategyState | undefined, now: number, points: number, rate: Rate): StrategyState {
    return scheduleAdjust(state, now, points, this.capacity(rate), rate);
  }
}
