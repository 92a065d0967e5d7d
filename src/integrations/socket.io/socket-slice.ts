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
  once(event: "close", listener: () => void): unknown;
  off(event: "close", listener: () => void): unknown;
}

/**
 * The slice of a Socket.IO server `Socket` used here; Socket.IO 4's own `Socket` fits it, so
 * the throttles may be typed with it (`WebSocketThrottle<Socket>`). With typed events, declare
 * `rate_limit: (message: RateLimitEvent) => void` among the server-to-client events.
 */
export interface SocketIoSocket {
  readonly handshake: SocketIoHandshake;
  readonly conn: EngineConnection;
  use(middleware: (event: unknown[], next: (error?: Error) => void) => void): unknown;
  emit(event: "rate_limit", message: RateLimitEvent): unknown;
  disconnect(close?: boolean): unknown;
  once(event: "disconnect", listener: () => void): unknown;
}
