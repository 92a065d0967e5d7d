/**
 * Traffik: rate limiting for Node.js HTTP and WebSocket servers.
 *
 * @module
 */
export { ThrottleBackend, type ThrottleBackendOptions } from "./backends/base.js";
export type { DecisionMode, DecisionRequest, Lock, LockOptions } from "./backends/types.js";
export * from "./errors.js";
export {
  type AddressableConnection,
  type ClientAddressOptions,
  clientAddress,
  defaultClientAddress,
  type IdentifiableConnection,
} from "./identity/client-address.js";
export { Rate, type RateInit } from "./rate.js";
export type { Step, Strategy, StrategyState } from "./strategies/strategy.js";
export { hitAll, tryHitAll } from "./throttles/all-or-nothing.js";
export { BaseThrottle } from "./throttles/base.js";
export type { Decision } from "./throttles/decision.js";
export { type ThrottledOptions, throttled } from "./throttles/decorator.js";
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
