/**
 * Traffik for NestJS, under the Express and the Fastify platform, and for WebSocket gateways.
 *
 * ```ts
 * // In the root module's imports:
 * TraffikModule.forRoot({ backend, throttles: [perClient] })
 * // On a controller (every handler) or a handler; both apply, all or nothing:
 * Throttled(perUser)
 * // On a handler that no throttle may touch:
 * SkipThrottle()
 * // On a handler's parameter: the request's rate limit (also `request.traffik`):
 * RateLimitDecision()
 * ```
 *
 * @module
 */

export type { RateLimitPolicy } from "../shared/rate-limit-decision.js";
export type { ThrottledMessage, ThrottledMessageBody } from "../shared/throttled-response.js";
export { TraffikGuard } from "./guard.js";
export { SkipThrottle, Throttled } from "./metadata.js";
export { TraffikModule } from "./module.js";
export {
  TRAFFIK_OPTIONS,
  type TraffikModuleAsyncOptions,
  type TraffikModuleOptions,
} from "./options.js";
export { RateLimitDecision } from "./rate-limit-decision.js";
