/**
 * Traffik: rate limiting for Node.js HTTP and WebSocket servers.
 *
 * What an app needs: rates, throttles, the all-or-nothing helpers, the client address, and the
 * `throttled` decorator. Errors come from `traffik/errors`, strategies from `traffik/strategies`,
 * backends from `traffik/backends/*`, and what a backend author needs from `traffik/backend`.
 *
 * @module
 */
export {
  type AddressableConnection,
  type ClientAddressOptions,
  clientAddress,
  defaultClientAddress,
  type IdentifiableConnection,
} from "./identity/client-address.js";
export { Rate, type RateInit } from "./rate.js";
export { hitAll, tryHitAll } from "./throttles/all-or-nothing.js";
export { BaseThrottle } from "./throttles/base.js";
export type { Decision } from "./throttles/decision.js";
export {
  type ThrottledDecorator,
  type ThrottledOptions,
  throttled,
} from "./throttles/decorator.js";
export { HTTPThrottle } from "./throttles/http.js";
export type {
  AnyThrottle,
  ErrorAction,
  ErrorHandler,
  HitOptions,
  Identifier,
  ThrottledHandler,
  ThrottleOptions,
} from "./throttles/options.js";
export { WebSocketThrottle } from "./throttles/websocket.js";
export { UNLIMITED, type Unlimited } from "./unlimited.js";
