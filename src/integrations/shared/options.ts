import { ConfigurationError } from "../../errors.js";
import type { OptionNames } from "../../internal/known-keys.js";
import type { ThrottleBackend } from "../../throttles/backend-access.js";
import type { HeaderFormat } from "./rate-limit-headers.js";
import { type RefundOptions, type RefundPolicy, refundPolicy } from "./refunds.js";

/** How an integration answers, and what it gives back; the same options in every framework. */
export interface IntegrationOptions extends RefundOptions {
  /** Rate-limit header fields on admitted and throttled responses. @default "draft-11" */
  headers?: HeaderFormat;
  /**
   * `"json"` answers a throttled request itself: its status (429), `Retry-After`, the rate-limit
   * headers and `{ "detail", "retryAfter" }`. `"error"` hands the `ConnectionThrottled` (its
   * `headers` include the rate-limit fields) to the framework's error handling instead: Express
   * error middleware, Fastify's `setErrorHandler`, Hono's `onError`. @default "json"
   */
  respondWith?: "json" | "error";
}

/** The names of the options every integration takes, for the check of unknown keys. @internal */
export const INTEGRATION_OPTION_NAMES: OptionNames<IntegrationOptions> = {
  headers: true,
  respondWith: true,
  skipFailedRequests: true,
  skipSuccessfulRequests: true,
  requestWasSuccessful: true,
};

/** Settings in force for one request: an integration's options with their defaults. @internal */
export interface Settings {
  readonly headers: HeaderFormat;
  readonly respondWith: "json" | "error";
  /** The app's backend, for throttles without their own. */
  readonly backend: ThrottleBackend | undefined;
  /** When requests are given back (see `refunds.ts`); `undefined` for never. */
  readonly refund: RefundPolicy | undefined;
}

/** The defaults of every integration, in one place. @internal */
export const DEFAULT_SETTINGS: Settings = Object.freeze({
  headers: "draft-11",
  respondWith: "json",
  backend: undefined,
  refund: undefined,
});

const HEADER_FORMATS: readonly unknown[] = ["draft-11", "draft-7", "draft-6", "legacy", false];

/** Checks the options every integration takes, naming what is wrong. @internal */
export function checkOptions(options: IntegrationOptions | undefined, where: string): void {
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
  if (options !== undefined) refundPolicy(options, where);
}

const policies = new WeakMap<IntegrationOptions, RefundPolicy | undefined>();

/**
 * The refund policy `options` set, worked out once per options object (checked already), or
 * `inherited` when they set none. @internal
 */
export function refundSetting(
  options: IntegrationOptions,
  inherited: RefundPolicy | undefined,
): RefundPolicy | undefined {
  if (options.skipFailedRequests === undefined && options.skipSuccessfulRequests === undefined) {
    return inherited;
  }
  if (!policies.has(options)) policies.set(options, refundPolicy(options, "Traffik"));
  return policies.get(options);
}

/**
 * An app's settings from its checked options, over the defaults; `respondWith` fixed where the
 * framework has one way only (NestJS answers through its exceptions). @internal
 */
export function appSettings(
  options: IntegrationOptions & { backend?: ThrottleBackend | undefined },
  respondWith?: "json" | "error",
): Settings {
  return Object.freeze({
    headers: options.headers ?? DEFAULT_SETTINGS.headers,
    respondWith: respondWith ?? options.respondWith ?? DEFAULT_SETTINGS.respondWith,
    backend: options.backend,
    refund: refundSetting(options, undefined),
  });
}
