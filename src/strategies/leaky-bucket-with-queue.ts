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
 * - State, 1 number: `[nextStart]`, when the next unit may start.
 * - Delay: `nextStart - now` when positive.
 * - Wait (rejected): until the queue has drained enough for the request to fit.
 */
export class LeakyBucketWithQueueStrategy implements Strategy {
  readonly name: string;
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
    if (cost > this.capacity(rate)) return beyondCapacity(state, now);
    const interval = rate.windowMs / rate.limit;
    const queueMs = (this.queueSize ?? rate.limit) * interval;
    const start = isLive(state, 1, now) ? (state[0] as number) : now;
    const delayMs = start - now;
    // The request's last unit must start within the queue's span.
    const overflowMs = delayMs + (cost - 1) * interval - queueMs;
    if (overflowMs > EPSILON * interval) {
      const remaining = wholeUnits((queueMs - delayMs) / interval + 1);
      return rejected(state ?? [], remaining, overflowMs, delayMs);
    }
    const nextStart = start + cost * interval;
    const backlogMs = nextStart - now;
    return {
      state: [nextStart],
      allowed: true,
      remaining: wholeUnits((queueMs - backlogMs) / interval + 1),
      retryAfterMs: 0,
      resetAfterMs: backlogMs,
      delayMs: cost > 0 ? delayMs : 0,
    };
  }
}
