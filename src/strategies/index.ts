/**
 * The rate-limiting strategies. Each is a pure function over a small numeric state; see
 * {@link Strategy}. {@link FixedWindowStrategy} is the default.
 *
 * @module
 */
export { FixedWindowStrategy } from "./fixed-window.js";
export { type GCRAOptions, GCRAStrategy } from "./gcra.js";
export { type LeakyBucketOptions, LeakyBucketStrategy } from "./leaky-bucket.js";
export {
  type LeakyBucketWithQueueOptions,
  LeakyBucketWithQueueStrategy,
} from "./leaky-bucket-with-queue.js";
export { SlidingWindowCounterStrategy } from "./sliding-window-counter.js";
export { SlidingWindowLogStrategy } from "./sliding-window-log.js";
export type { Step, Strategy, StrategyState } from "./strategy.js";
export { type TokenBucketOptions, TokenBucketStrategy } from "./token-bucket.js";
export {
  type TokenBucketWithDebtOptions,
  TokenBucketWithDebtStrategy,
} from "./token-bucket-with-debt.js";
