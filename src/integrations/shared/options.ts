import { ConfigurationError } from "../../errors.js";
import type { AppHooks } from "../../events/app-hooks.js";
import type { OptionNames } from "../../internal/known-keys.js";
import type { AccessCheck } from "../../throttles/access.js";
import type { ThrottleBackend } from "../../throttles/backend-access.js";
import type { HeaderFormat } from "./rate-limit-headers.js";
import { type RefundOptions, type RefundPolicy, refundPolicy } from "./refunds.js";
import {
  checkStatusCode,
  type PreparedMessage,
  prepareMessage,
  type ThrottledMessage,
} from "./throttled-response.js";

/**
 * How an integration answers, and what it gives back; the same options in every framework. `C`
 * is its request.
 */
export interface IntegrationOptions<C = unknown> extends RefundOptions {
  /** Rate-limit header fields on admitted and throttled responses. @default "draft-11" */
  headers?: HeaderFormat;
  /**
   * `"json"` answers a throttled request itself: its status (429), `Retry-After`, the rate-limit
   * headers and `{ "detail", "retryAfter" }`. `"error"` hands the `ConnectionThrottled` (its
   * `headers` include the rate-limit fields) to the framework's error handling instead: Express
   * error middleware, Fastify's `setErrorHandler`, Hono's `onError`. @default "json"
   */
  respondWith?: "json" | "error";
  /**
   * The status of a throttled request's answer, from 400 to 599; with `respondWith: "error"`,
   * the `ConnectionThrottled`'s `status`. `Retry-After` and the rate-limit headers are sent
   * all the same. @default 429 (or the status a throttle's `handleThrottled` throws)
   */
  statusCode?: number;
  /**
   * The body of a throttled request's answer (`respondWith: "json"` only): a string (sent as
   * `text/plain`), an object (sent as JSON), or a function of the request and its
   * {@link RateLimitDecision} returning either, possibly through a promise (what it throws goes
   * to the framework's error handling). @default `{ "detail", "retryAfter" }`
   */
  message?: ThrottledMessage<C>;
}

/** The names of the options every integration takes, for the check of unknown keys. @internal */
export const INTEGRATION_OPTION_NAMES: OptionNames<IntegrationOptions> = {
  headers: true,
  respondWith: true,
  statusCode: true,
  message: true,
  skipFailedRequests: true,
  skipSuccessfulRequests: true,
  requestWasSuccessful: true,
};

/** Settings in force for one request: an integration's options with their defaults. @internal */
export interface Settings {
  readonly headers: HeaderFormat;
  readonly respondWith: "json" | "error";
  /** The throttled answer's status; `undefined`: the `ConnectionThrottled`'s own. */
  readonly statusCode: number | undefined;
  /** The throttled answer's body; `undefined`: `{ detail, retryAfter }`. */
  readonly message: PreparedMessage | undefined;
  /** The app's backend, for throttles without their own. */
  readonly backend: ThrottleBackend | undefined;
  /** The app middleware's deny and allow lists and `skip`, for its own throttles only. */
  readonly access?: AccessCheck<never> | undefined;
  /** Whether the app middleware applies its throttles in shadow mode. */
  readonly shadow?: boolean | undefined;
  /** The app's hooks, for every decision taken on the request. */
  readonly hooks: AppHooks | undefined;
  /** When requests are given back (see `refunds.ts`); `undefined` for never. */
  readonly refund: RefundPolicy | undefined;
}

/** The defaults of every integration, in one place. @internal */
export const DEFAULT_SETTINGS: Settings = Object.freeze({
  headers: "draft-11",
  respondWith: "json",
  statusCode: undefined,
  message: undefined,
  backend: undefined,
  hooks: undefined,
  refund: undefined,
});

const HEADER_FORMATS: readonly unknown[] = ["draft-11", "draft-7", "draft-6", "legacy", false];

/** Settings a route's options override, checked; `undefined` where the app's apply. @internal */
export interface SettingsOverrides {
  readonly headers: HeaderFormat | undefined;
  readonly respondWith: "json" | "error" | undefined;
  readonly statusCode: number | undefined;
  readonly message: PreparedMessage | undefined;
  /** The refund policy: `undefined` where the app's applies, `null` for none. */
  readonly refund: RefundPolicy | null | undefined;
}

/**
 * Checks the options every integration takes, naming what is wrong, and returns them as the
 * settings they override (the `message` prepared). @internal
 */
export function checkOptions(
  options: IntegrationOptions<never> | undefined,
  where: string,
): SettingsOverrides {
  const headers = options?.headers;
  if (headers !== undefined && !HEADER_FORMATS.includes(headers)) {
    throw new ConfigurationError(
      `${where}: headers must be "draft-11", "draft-7", "draft-6", "legacy" or false, got ${JSON.stringify(headers)}.`,
    );
  }
  const respondWith = options?.respondWith;
  if (respondWith !== undefined && respondWith !== "json" && respondWith !== "error") {
    throw new ConfigurationError(
      `${where}: respondWith must be "json" or "error", got ${JSON.stringify(respondWith)}.`,
    );
  }
  checkStatusCode(options?.statusCode, where);
  if (respondWith === "error" && options?.message !== undefined) {
    throw new ConfigurationError(
      `${where}: message shapes the answer Traffik writes; with respondWith "error" your error handler writes it.`,
    );
  }
  return {
    headers,
    respondWith,
    statusCode: options?.statusCode,
    message: prepareMessage(options?.message, where),
    refund: refundOverride(options, where),
  };
}

/**
 * The refund policy `options` set (`null` for none), or `undefined` when they set none and the
 * app's applies.
 */
function refundOverride(
  options: IntegrationOptions<never> | undefined,
  where: string,
): RefundPolicy | null | undefined {
  if (options === undefined) return undefined;
  const policy = refundPolicy(options, where);
  if (options.skipFailedRequests === undefined && options.skipSuccessfulRequests === undefined) {
    return undefined;
  }
  return policy ?? null;
}

/**
 * An app's settings from its checked options, over the defaults; `respondWith` fixed where the
 * framework has one way only (NestJS answers through its exceptions). @internal
 */
export function appSettings(
  overrides: SettingsOverrides,
  backend: ThrottleBackend | undefined,
  hooks: AppHooks | undefined,
  respondWith?: "json" | "error",
): Settings {
  return Object.freeze({
    headers: overrides.headers ?? DEFAULT_SETTINGS.headers,
    respondWith: respondWith ?? overrides.respondWith ?? DEFAULT_SETTINGS.respondWith,
    statusCode: overrides.statusCode,
    message: overrides.message,
    backend,
    hooks,
    refund: overrides.refund ?? undefined,
  });
}
