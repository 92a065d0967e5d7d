import { ConfigurationError, ConnectionDenied, type ConnectionThrottled } from "../../errors.js";
import { type OptionNames, rejectUnknownOptions } from "../../internal/known-keys.js";
import { BaseThrottle } from "../../throttles/base.js";
import { DEFAULT_SETTINGS, type Settings } from "../shared/options.js";
import type { RateLimitDecision } from "../shared/rate-limit-decision.js";
import { throttleTogether } from "../shared/request-throttling.js";
import { checkThrottles } from "../shared/throttled-args.js";
import { ConnectionDeparture } from "./connection-departure.js";
import type { SocketIoSocket } from "./socket-slice.js";

/** Options of {@link throttleHandshake}. */
export interface ThrottleHandshakeOptions<C = SocketIoSocket> {
  /** Receives errors from identifiers, a backend whose `onError` raises, or `message`. */
  onError?: (error: unknown) => void;
  /**
   * What a refused client reads as `connect_error`'s `error.message` (and `error.data.detail`):
   * a string, or a function of the socket and its {@link RateLimitDecision} making one,
   * possibly through a promise. @default "Too many messages. Retry in N seconds."
   */
  message?: string | ((socket: C, decision: RateLimitDecision) => string | Promise<string>);
}

const OPTION_NAMES: OptionNames<ThrottleHandshakeOptions> = { onError: true, message: true };

/** What a client's `connect_error` carries in `data` when its handshake is throttled. */
export interface HandshakeRefusal {
  /** Always `"rate_limit"`: tells this refusal from the server's other `connect_error`s. */
  readonly type: "rate_limit";
  /** Whole seconds to wait, rounded up, at least 1. */
  readonly retryAfter: number;
  /** Milliseconds to wait before connecting again. */
  readonly retryAfterMs: number;
  /** A sentence for people: which limit, and when to come back. */
  readonly detail: string;
}

/**
 * What a throttled handshake's middleware passes to `next`: the `ConnectionThrottled`, with
 * the {@link HandshakeRefusal} in `data`, which Socket.IO sends to the client.
 */
export type HandshakeThrottled = ConnectionThrottled & {
  /** What Socket.IO sends the client, as `connect_error`'s `error.data`. */
  readonly data: HandshakeRefusal;
};

/** A socket once {@link throttleHandshake} has admitted its handshake. */
export interface DecidedSocket {
  /**
   * The handshake's rate limit, for the `connection` handler: set once the handshake is
   * decided. Events are decided one by one and reach their handlers without theirs.
   */
  traffik?: RateLimitDecision | undefined;
}

/** A Socket.IO namespace middleware, for `io.use` or `io.of(name).use`. */
export type HandshakeMiddleware<C extends SocketIoSocket> = (
  socket: C & DecidedSocket,
  next: (error?: Error) => void,
) => void;

/** Sent to a client whose handshake failed on the server's side: nothing internal leaks. */
const INTERNAL_ERROR = "Internal server error";

/**
 * The same for every handshake: no app-wide middleware shares settings with a socket, and no
 * HTTP response carries rate-limit headers or a body, so none are made.
 */
const SETTINGS: Settings = Object.freeze({
  ...DEFAULT_SETTINGS,
  headers: false,
  respondWith: "error",
});

/**
 * Throttles Socket.IO connections, all or nothing over the throttles given, as a namespace
 * middleware: an admitted handshake goes on (`next()`); a throttled one is refused Socket.IO's
 * way, `next(error)`, so the client gets `connect_error` with `error.data` a
 * {@link HandshakeRefusal} (`retryAfterMs` and all) and does not reconnect by itself. A client
 * gone while its handshake waited for its turn is dropped; an identifier that throws goes to
 * `onError`, and the client is told only "Internal server error".
 *
 * The throttles see the `Socket`: by default a client is its handshake's address (`socket.handshake.address`).
 * Behind a proxy, give them an identifier, e.g.
 * `(socket) => fromProxy({ socket: { remoteAddress: socket.handshake.address }, headers: socket.handshake.headers })`
 * with `fromProxy = clientAddress({ trustedProxies })`.
 *
 * @example
 * io.use(throttleHandshake(connectionsPerIp));
 * // on the client:
 * socket.on("connect_error", (error) => { if (error.data?.type === "rate_limit") setTimeout(() => socket.connect(), error.data.retryAfterMs); });
 * @throws {ConfigurationError} at once, for anything but throttles and options.
 */
export function throttleHandshake<C extends SocketIoSocket = SocketIoSocket>(
  ...args: [ThrottleHandshakeOptions<C>, ...BaseThrottle<C>[]] | BaseThrottle<C>[]
): HandshakeMiddleware<C> {
  const first = args[0];
  const options =
    typeof first === "object" && first !== null && !(first instanceof BaseThrottle)
      ? (first as ThrottleHandshakeOptions<C>)
      : undefined;
  rejectUnknownOptions("throttleHandshake()", options, OPTION_NAMES);
  const throttles = checkThrottles<C>(options ? args.slice(1) : args, "throttleHandshake()");
  if (throttles.length === 0) {
    throw new ConfigurationError("throttleHandshake() needs at least one throttle.");
  }
  const onError = options?.onError ?? ((error: unknown) => process.emitWarning(String(error)));
  const message = options?.message;
  if (message !== undefined && typeof message !== "string" && typeof message !== "function") {
    throw new ConfigurationError("throttleHandshake(): message must be a string or a function.");
  }
  return function traffikHandshake(socket, next) {
    const failed = (error: unknown) => {
      onError(error);
      next(new Error(INTERNAL_ERROR));
    };
    let decided: ReturnType<typeof throttleTogether>;
    try {
      decided = throttleTogether(throttles, socket, SETTINGS, new ConnectionDeparture(socket.conn));
    } catch (error) {
      failed(error);
      return;
    }
    Promise.resolve(decided)
      .then((verdict) => {
        // Gone while it waited for its turn: nobody to connect or to answer.
        if (verdict.abandoned) return;
        const { throttled, decision } = verdict;
        if (decision !== undefined) socket.traffik = decision;
        if (throttled === undefined) next();
        else if (throttled instanceof ConnectionDenied) next(denial(throttled));
        else if (message === undefined) next(refusal(throttled));
        else if (typeof message === "string") next(refusal(throttled, message));
        else {
          return Promise.resolve(message(socket, decision as RateLimitDecision)).then((text) => {
            if (typeof text !== "string") throw new TypeError("message() must make a string.");
            next(refusal(throttled, text));
          });
        }
        return undefined;
      })
      .then(undefined, failed);
  };
}

/**
 * The throttled error as Socket.IO passes a middleware's error on: `data` for the client, and
 * the app's `message` when it has one.
 */
function refusal(error: ConnectionThrottled, message?: string): HandshakeThrottled {
  const detail = message ?? error.detail;
  const data: HandshakeRefusal = {
    type: "rate_limit",
    retryAfter: error.retryAfter,
    retryAfterMs: error.waitMs,
    detail,
  };
  return Object.assign(error, { data, message: detail });
}

/** A denied address's error, with `{ type: "denied", detail }` in `data` for the client. */
function denial(error: ConnectionDenied): ConnectionDenied {
  return Object.assign(error, { data: { type: "denied" as const, detail: error.detail } });
}
