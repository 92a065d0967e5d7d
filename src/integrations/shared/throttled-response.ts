/**
 * The body and status of the throttled answer an integration writes itself
 * (`respondWith: "json"`): `{ detail, retryAfter }` with 429 by default, or the app's
 * `message` and `statusCode`.
 *
 * @module
 */
import {
  ConfigurationError,
  type ConnectionDenied,
  type ConnectionThrottled,
} from "../../errors.js";
import { type Eventually, whenReady } from "../../throttles/sync-or-async.js";
import type { RateLimitDecision } from "./rate-limit-decision.js";

/** A throttled answer's body: a string (sent as text) or anything `JSON.stringify` takes. */
export type ThrottledMessageBody = string | object;

/**
 * The body of a throttled answer: a string (sent as `text/plain`), an object (sent as JSON),
 * or a function of the request and its {@link RateLimitDecision} returning either, possibly
 * through a promise.
 */
export type ThrottledMessage<C> =
  | ThrottledMessageBody
  | ((
      connection: C,
      decision: RateLimitDecision,
    ) => ThrottledMessageBody | Promise<ThrottledMessageBody>);

/** What an integration writes for a throttled request. @internal */
export interface ThrottledResponse {
  readonly status: number;
  readonly contentType: string;
  /** The body, serialized. */
  readonly text: string;
  /** The body as given (the default's object, the message's string or object), for NestJS. */
  readonly value: ThrottledMessageBody;
}

/** A checked `message`: a fixed body serialized once, or the function that makes one. @internal */
export type PreparedMessage =
  | { readonly fixed: Omit<ThrottledResponse, "status"> }
  | { readonly make: (connection: unknown, decision: RateLimitDecision) => unknown };

const JSON_TYPE = "application/json; charset=utf-8";
const TEXT_TYPE = "text/plain; charset=utf-8";

/**
 * Checks a `message` option, serializing a fixed one once. @internal
 * @throws {ConfigurationError} for anything but a string, a JSON-able object or a function.
 */
export function prepareMessage(message: unknown, where: string): PreparedMessage | undefined {
  if (message === undefined) return undefined;
  if (typeof message === "function") {
    return { make: message as (connection: unknown, decision: RateLimitDecision) => unknown };
  }
  const fixed = serialize(message);
  if (fixed === undefined) {
    throw new ConfigurationError(
      `${where}: message must be a string, a JSON-able object or a function, got ${String(message)}.`,
    );
  }
  return { fixed };
}

/**
 * Checks a `statusCode` option. @internal
 * @throws {ConfigurationError} unless a whole number from 400 to 599.
 */
export function checkStatusCode(statusCode: unknown, where: string): void {
  if (statusCode === undefined) return;
  if (
    !Number.isInteger(statusCode) ||
    (statusCode as number) < 400 ||
    (statusCode as number) > 599
  ) {
    throw new ConfigurationError(
      `${where}: statusCode must be a whole number from 400 to 599, got ${JSON.stringify(statusCode)}.`,
    );
  }
}

/**
 * The answer for a throttled request: the app's `message` when it has one (a function's,
 * awaited), else `{ detail, retryAfter }`, with the throttled error's status. @internal
 * @throws what the message function throws, or a `TypeError` for a body it made that is
 * neither a string nor JSON-able.
 */
export function throttledResponse(
  throttled: ConnectionThrottled,
  message: PreparedMessage | undefined,
  connection: unknown,
  decision: RateLimitDecision,
): Eventually<ThrottledResponse> {
  if (message === undefined) return defaultThrottledResponse(throttled);
  const status = throttled.status;
  return whenReady(messageBody(message, connection, decision), (body) => ({ status, ...body }));
}

/**
 * The body `message` makes for a throttled request or message: fixed, or made by its function
 * (awaited). @internal
 * @throws what the message function throws, or a `TypeError` for a body it made that is
 * neither a string nor JSON-able.
 */
export function messageBody(
  message: PreparedMessage,
  connection: unknown,
  decision: RateLimitDecision,
): Eventually<Omit<ThrottledResponse, "status">> {
  if ("fixed" in message) return message.fixed;
  return whenReady(message.make(connection, decision) as Eventually<unknown>, (body) => {
    const made = serialize(body);
    if (made === undefined) {
      throw new TypeError(
        `message() must make a string or a JSON-able object, got ${String(body)}.`,
      );
    }
    return made;
  });
}

/** The answer for a throttled request without a `message`: `{ detail, retryAfter }`. @internal */
export function defaultThrottledResponse(throttled: ConnectionThrottled): ThrottledResponse {
  const value = { detail: throttled.detail, retryAfter: throttled.retryAfter };
  return { status: throttled.status, contentType: JSON_TYPE, text: JSON.stringify(value), value };
}

/** The answer to a denied address: its status (403) and `{ detail }`, no `Retry-After`. @internal */
export function deniedResponse(denied: ConnectionDenied): ThrottledResponse {
  const value = { detail: denied.detail };
  return { status: denied.status, contentType: JSON_TYPE, text: JSON.stringify(value), value };
}

/** A body as sent: a string as text, an object as JSON; `undefined` for anything else. */
function serialize(body: unknown): Omit<ThrottledResponse, "status"> | undefined {
  if (typeof body === "string") return { contentType: TEXT_TYPE, text: body, value: body };
  let text: string | undefined;
  if (typeof body === "object" && body !== null) {
    try {
      text = JSON.stringify(body);
    } catch {
      text = undefined;
    }
  }
  if (text === undefined) return undefined;
  return { contentType: JSON_TYPE, text, value: body as object };
}
