/** What every HTTP integration exports besides its own glue: one vocabulary in each. */
export {
  MiddlewareThrottle,
  type MiddlewareThrottleOptions,
  type ThrottleMiddlewareOptions,
} from "./middleware-throttle.js";
export type { IntegrationOptions } from "./options.js";
export type { RateLimitDecision, RateLimitPolicy } from "./rate-limit-decision.js";
export type { HeaderFormat } from "./rate-limit-headers.js";
export type { RefundOptions } from "./refunds.js";
export type { ThrottledArgs } from "./throttled-args.js";
export type { ThrottledMessage, ThrottledMessageBody } from "./throttled-response.js";
