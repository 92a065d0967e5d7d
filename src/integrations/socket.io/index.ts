/**
 * Traffik for Socket.IO 4: connections throttled at the handshake (a namespace middleware
 * that refuses with `connect_error`), and events throttled per socket (a socket middleware
 * that answers a throttled event's acknowledgement, or sends `rate_limit`).
 *
 * @example
 * io.use(throttleHandshake(connectionsPerIp));
 * io.on("connection", (socket) => {
 *   throttleEvents(socket, { throttles: eventsPerClient });
 *   socket.on("chat", (text) => io.emit("chat", text));
 * });
 *
 * @module
 */
import { readNodeRequestWith } from "../../identity/client-address.js";
import { handshakeAddress } from "./handshake-address.js";

// The default identifier finds a Socket.IO socket's client in its handshake.
readNodeRequestWith(handshakeAddress);

export type { RateLimitDecision, RateLimitPolicy } from "../shared/rate-limit-decision.js";
export {
  type EventGuard,
  type ThrottledEventAction,
  type ThrottleEventsOptions,
  throttleEvents,
} from "./event-guard.js";
export {
  type DecidedSocket,
  type HandshakeMiddleware,
  type HandshakeRefusal,
  type HandshakeThrottled,
  type ThrottleHandshakeOptions,
  throttleHandshake,
} from "./handshake-throttle.js";
export { RATE_LIMIT_EVENT, type RateLimitEvent, rateLimitEvent } from "./rate-limit-event.js";
export type { EngineConnection, SocketIoHandshake, SocketIoSocket } from "./socket-slice.js";
