/**
 * Traffik: rate limiting for Node.js HTTP and WebSocket servers.
 *
 * What an app needs: rates, throttles, the all-or-nothing helpers, the client address, and the
 * `throttled` decorator, and what observes them: the `traffik:` diagnostics channels and their
 * events. Errors come from `traffik/errors`, strategies from `traffik/strategies`,
 * backends from `traffik/backends/*`, and what a backend author needs from `traffik/backend`.
 *
 * @module
 */
export { CHANNELS } from "./events/channels.js";
export type { EventIdentity } from "./events/identity.js";
export type {
  BackendErrorEvent,
  BackendState,
  BackendStateEvent,
  DecisionEvent,
  Logger,
  ThrottledEvent,
} from "./events/types.js";
export {
  type AddressableConnection,
  type ClientAddressOptions,
  clientAddress,
  defaultClientAddress,
  type IdentifiableConnection,
} from "./identity/client-address.js";
export { Rate, type RateInit } from "./rate.js";
export type { AccessOptions } from "./throttles/access.js";
export type { ClientIdentity, ClientTarget } from "./throttles/adjust.js";
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
  ThrottleMode,
  ThrottleOptions,
} from "./throttles/options.js";
export { WebSocketThrottle } from "./throttles/websocket.js";
export { UNLIMITED, type Unlimited } from "./unlimited.js";
