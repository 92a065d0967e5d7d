/**
 * Traffik for WebSockets on `ws`, and on what is built on it (`@fastify/websocket`,
 * `@hono/node-ws`): messages throttled per socket, and handshakes refused with 429.
 *
 * @example
 * const upgrade = throttleUpgrade(handshakes);
 * server.on("upgrade", async (request, socket, head) => {
 *   if (await upgrade(request, socket)) wss.handleUpgrade(request, socket, head, (ws) => wss.emit("connection", ws, request));
 * });
 * wss.on("connection", (ws, request) =>
 *   throttleMessages(ws, request, { throttles: messages, onMessage: (data) => ws.send(data) }));
 *
 * @module
 */
import type { IncomingMessage } from "node:http";
import { STATUS_CODES } from "node:http";
import type { Duplex } from "node:stream";
import { ConnectionDenied } from "../../errors.js";
import { type OptionNames, rejectUnknownOptions } from "../../internal/known-keys.js";
import type { BaseThrottle } from "../../throttles/base.js";
import type { IntegrationOptions } from "../shared/options.js";
import type { RateLimitDecision } from "../shared/rate-limit-decision.js";
import { settingsFor } from "../shared/request-state.js";
import { throttleTogether } from "../shared/request-throttling.js";
import { parseThrottledArgs } from "../shared/throttled-args.js";
import { defaultThrottledResponse, deniedResponse } from "../shared/throttled-response.js";
import {
  type GuardedSocket,
  guardMessages,
  type MessageGuard,
  type MessageGuardOptions,
} from "./message-guard.js";
import { UpgradeDeparture } from "./upgrade-departure.js";

export type { RateLimitDecision, RateLimitPolicy } from "../shared/rate-limit-decision.js";
export { type RateLimitMessage, rateLimitMessage } from "../shared/rate-limit-message.js";
export type { ThrottledMessage, ThrottledMessageBody } from "../shared/throttled-response.js";
export {
  type GuardedSocket,
  guardMessages,
  type MessageGuard,
  type MessageGuardOptions,
  type ThrottledMessageAction,
} from "./message-guard.js";

/** The slice of a `ws` WebSocket used here. */
export interface WsSocket extends GuardedSocket {
  /** Listens for the socket's messages. */
  on(event: "message", listener: (data: WsData, isBinary: boolean) => void): unknown;
  /** Listens for the socket's close. */
  once(event: "close", listener: () => void): unknown;
}

/** A message as `ws` delivers it. */
export type WsData = Buffer | ArrayBuffer | Buffer[];

/** Options of {@link throttleMessages}: those of {@link guardMessages}, with `ws`'s message shape. */
export interface ThrottleMessagesOptions<C>
  extends Omit<MessageGuardOptions<C, WsData>, "connection" | "socket" | "onMessage" | "cost"> {
  /**
   * Receives the admitted messages in arrival order, each with its {@link RateLimitDecision}
   * (built only for a function that declares the third parameter).
   */
  onMessage: (data: WsData, isBinary: boolean, decision: RateLimitDecision) => unknown;
  /** Units a message costs (for example by size). @default each throttle's own cost */
  cost?: (data: WsData, isBinary: boolean) => number;
}

const THROTTLE_MESSAGES_OPTION_NAMES: OptionNames<ThrottleMessagesOptions<unknown>> = {
  throttles: true,
  onThrottled: true,
  closeCode: true,
  onError: true,
  onMessage: true,
  cost: true,
  maxPending: true,
  message: true,
};

/**
 * Throttles every message of a `ws` socket; admitted ones reach `onMessage` in arrival order.
 * The throttles identify the client from `connection`: the upgrade request by default. When the
 * socket closes, pending waits are abandoned and the guard's listeners go with the socket.
 *
 * @example
 * wss.on("connection", (ws, request) =>
 *   throttleMessages(ws, request, { throttles: perClient, onThrottled: "close", closeCode: 1013, onMessage: (data) => ws.send(data) }));
 */
export function throttleMessages<C>(
  socket: WsSocket,
  connection: C,
  options: ThrottleMessagesOptions<C>,
): MessageGuard<{
  /** The message as `ws` delivered it. */
  data: WsData;
  /** Whether it came as a binary frame. */
  isBinary: boolean;
}> {
  rejectUnknownOptions("throttleMessages()", options, THROTTLE_MESSAGES_OPTION_NAMES);
  const { onMessage, cost, ...rest } = options;
  const guard = guardMessages<C, { data: WsData; isBinary: boolean }>({
    ...rest,
    connection,
    socket,
    // Declaring the decision only when onMessage does, so none is built for it otherwise.
    onMessage:
      onMessage.length < 3
        ? (message) => onMessage(message.data, message.isBinary, undefined as never)
        : (message, decision) => onMessage(message.data, message.isBinary, decision),
    cost: cost && ((message) => cost(message.data, message.isBinary)),
  });
  socket.on("message", (data, isBinary) => guard.push({ data, isBinary }));
  socket.once("close", () => guard.close());
  return guard;
}

/** Options of {@link throttleUpgrade}: a refused handshake's headers, status and body. */
export interface ThrottleUpgradeOptions<C = IncomingMessage>
  extends Pick<IntegrationOptions<C>, "headers" | "statusCode" | "message"> {
  /** Receives errors from identifiers, a backend whose `onError` raises, or `message`. */
  onError?: (error: unknown) => void;
}

const THROTTLE_UPGRADE_OPTION_NAMES: OptionNames<ThrottleUpgradeOptions> = {
  headers: true,
  statusCode: true,
  message: true,
  onError: true,
};

/** An upgrade request once {@link throttleUpgrade} has decided it. */
export interface DecidedUpgradeRequest {
  /**
   * The handshake's rate limit, for the `connection` handler (which gets this request): set
   * once the handshake is decided.
   */
  traffik?: RateLimitDecision | undefined;
}

/**
 * Throttles WebSocket handshakes, all or nothing over the throttles given. The function it
 * returns decides one upgrade request: `true` to go on with `handleUpgrade`; `false` once it has
 * answered the socket itself, with 429, `Retry-After` and rate-limit headers (or 500 if an
 * identifier failed), and closed it, or when the client closed the socket while its handshake
 * waited for its turn (leaky bucket with queue).
 *
 * @throws {ConfigurationError} at once, for anything but options and throttles, or no throttle.
 */
export function throttleUpgrade<C extends IncomingMessage = IncomingMessage>(
  ...args: [ThrottleUpgradeOptions<C>, ...BaseThrottle<C>[]] | BaseThrottle<C>[]
): (request: C & DecidedUpgradeRequest, socket: Duplex) => Promise<boolean> {
  const { options, overrides, throttles } = parseThrottledArgs<C, ThrottleUpgradeOptions<C>>(
    args,
    "throttleUpgrade()",
    THROTTLE_UPGRADE_OPTION_NAMES,
  );
  const onError = options?.onError ?? ((error: unknown) => process.emitWarning(String(error)));
  return async function decideUpgrade(request, socket) {
    try {
      const settings = settingsFor(request, overrides);
      const departure = new UpgradeDeparture(socket);
      const verdict = await throttleTogether(throttles, request, settings, departure);
      // A client gone while its handshake waited for its turn: nothing to upgrade or answer.
      if (verdict.abandoned) return false;
      if (verdict.decision !== undefined) request.traffik = verdict.decision;
      const { throttled, response } = verdict;
      if (throttled === undefined) return true;
      // Always written here: an upgrade has no error handling to hand the refusal to.
      const { status, contentType, text } =
        response ??
        (throttled instanceof ConnectionDenied
          ? deniedResponse(throttled)
          : defaultThrottledResponse(throttled));
      refuse(socket, status, { ...throttled.headers, "Content-Type": contentType }, text);
    } catch (error) {
      onError(error);
      refuse(socket, 500, {}, "");
    }
    return false;
  };
}

/** Answers an upgrade request on its raw socket and closes it. */
function refuse(
  socket: Duplex,
  status: number,
  headers: Record<string, string>,
  body: string,
): void {
  if (socket.destroyed) return;
  const lines = [`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ""}`];
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  lines.push(`Content-Length: ${Buffer.byteLength(body)}`, "Connection: close", "", body);
  socket.end(lines.join("\r\n"));
}
