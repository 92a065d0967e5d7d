import type { RateLimitEvent } from "./rate-limit-event.js";

/** The slice of a Socket.IO handshake read here. */
export interface SocketIoHandshake {
  /** The client's address, as Engine.IO saw the peer of its first request. */
  readonly address: string;
}

/** The slice of an Engine.IO connection watched here (`socket.conn`). */
export interface EngineConnection {
  /** `"opening"`, `"open"`, `"closing"` or `"closed"`. */
  readonly readyState: string;
  /** Listens once for the connection's closing: a client waiting for its turn has left. */
  once(event: "close", listener: () => void): unknown;
  /** Stops listening for the closing, once the wait is over. */
  off(event: "close", listener: () => void): unknown;
}

/**
 * The slice of a Socket.IO server `Socket` used here; Socket.IO 4's own `Socket` fits it, so
 * the throttles may be typed with it (`WebSocketThrottle<Socket>`). With typed events, declare
 * `rate_limit: (message: RateLimitEvent) => void` among the server-to-client events.
 */
export interface SocketIoSocket {
  /** The handshake, whose address is the client by default. */
  readonly handshake: SocketIoHandshake;
  /** The underlying Engine.IO connection, watched for the client leaving. */
  readonly conn: EngineConnection;
  /** Adds a socket middleware: the event throttle, which sees every incoming event. */
  use(middleware: (event: unknown[], next: (error?: Error) => void) => void): unknown;
  /** Sends the client a {@link RateLimitEvent} for a throttled event without acknowledgement. */
  emit(event: "rate_limit", message: RateLimitEvent): unknown;
  /** Disconnects the client, for the `"disconnect"` action on a throttled event. */
  disconnect(close?: boolean): unknown;
  /** Listens once for the socket's disconnection, to stop throttling its events. */
  once(event: "disconnect", listener: () => void): unknown;
}
