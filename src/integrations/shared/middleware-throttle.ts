import { ConfigurationError } from "../../errors.js";
import { readAppHooks } from "../../events/app-hooks.js";
import type { ThrottleHooks } from "../../events/types.js";
import { rejectUnknownOptions } from "../../internal/known-keys.js";
import { type AccessOptions, accessCheck } from "../../throttles/access.js";
import { ThrottleBackend } from "../../throttles/backend-access.js";
import type { BaseThrottle } from "../../throttles/base.js";
import type { ThrottleMode } from "../../throttles/options.js";
import { isShadowMode } from "../../throttles/shadow.js";
import {
  MIDDLEWARE_THROTTLE_OPTION_NAMES,
  THROTTLE_MIDDLEWARE_OPTION_NAMES,
} from "./option-names.js";
import { appSettings, checkOptions, type IntegrationOptions, type Settings } from "./options.js";

/** Which requests a {@link MiddlewareThrottle} applies to. Every criterion given must hold. */
export interface MiddlewareThrottleOptions<C> {
  /** A string is a path prefix (`"/api/"`); a `RegExp` is tested against the path. */
  path?: string | RegExp;
  /** HTTP methods, matched without regard to case. */
  methods?: Iterable<string>;
  /** Decides from the connection itself; runs last, only when path and method match. */
  hook?: (connection: C) => boolean | Promise<boolean>;
}

/** A throttle with the filter that says which requests it applies to. */
export interface MiddlewareThrottle<C> {
  /** The throttle applied where the filter holds. */
  readonly throttle: BaseThrottle<C>;
  /** Whether the throttle applies to this request. */
  matches(connection: C, path: string, method: string): boolean | Promise<boolean>;
}

/**
 * Wraps a throttle for `ThrottleMiddleware`, applying it only to the requests that match every
 * criterion given (none given: every request).
 *
 * @example
 * MiddlewareThrottle(writes, { path: "/api/", methods: ["POST", "PUT", "DELETE"] })
 */
export function MiddlewareThrottle<C>(
  throttle: BaseThrottle<C>,
  options: MiddlewareThrottleOptions<C> = {},
): MiddlewareThrottle<C> {
  rejectUnknownOptions("MiddlewareThrottle", options, MIDDLEWARE_THROTTLE_OPTION_NAMES);
  const { path, hook } = options;
  if (path !== undefined && typeof path !== "string" && !(path instanceof RegExp)) {
    throw new ConfigurationError(
      `MiddlewareThrottle "${throttle.uid}": path must be a string prefix or a RegExp.`,
    );
  }
  // A global or sticky RegExp remembers where it last matched; a copy without those flags
  // answers the same for the same path every time.
  const pattern =
    path instanceof RegExp ? new RegExp(path.source, path.flags.replace(/[gy]/g, "")) : undefined;
  const methods =
    options.methods === undefined
      ? undefined
      : new Set(Array.from(options.methods, (method) => method.toUpperCase()));

  if (path === undefined && methods === undefined && hook === undefined) {
    return Object.freeze({ throttle, matches: everyRequest });
  }
  return Object.freeze({
    throttle,
    matches(connection: C, requestPath: string, method: string): boolean | Promise<boolean> {
      if (typeof path === "string" && !requestPath.startsWith(path)) return false;
      if (pattern !== undefined && !pattern.test(requestPath)) return false;
      if (methods !== undefined && !methods.has(method.toUpperCase())) return false;
      return hook === undefined ? true : hook(connection);
    },
  });
}

/** The filter of a {@link MiddlewareThrottle} given no criteria. */
function everyRequest(): true {
  return true;
}

/**
 * Whether `entry` applies to every request (made without criteria), so that a request needs
 * no filtering for it. @internal
 */
export function appliesToEveryRequest<C>(entry: MiddlewareThrottle<C>): boolean {
  return entry.matches === everyRequest;
}

/**
 * Options of every framework's `ThrottleMiddleware`. `skip`, `allowList` and `denyList` screen
 * each request before any of `middlewareThrottles` (a denied one gets 403, an exempt one passes
 * them all); `throttled(...)` routes keep their own throttles' rules. Its hooks (`onDecision`,
 * `onThrottled`, `onBackendError`) see every decision taken on the requests it passes: its own
 * throttles', the routes' `throttled(...)` and those a handler calls; each throttle's own hooks
 * run first.
 */
export interface ThrottleMiddlewareOptions<C>
  extends IntegrationOptions<C>,
    AccessOptions<C>,
    ThrottleHooks {
  /** App-wide throttles, applied in this order; the first rejection answers. */
  middlewareThrottles?: readonly MiddlewareThrottle<C>[];
  /**
   * The app's backend: throttles without their own use it, here and in `throttled(...)` routes
   * and handlers. Initialized before the first request is decided.
   */
  backend?: ThrottleBackend;
  /**
   * `"shadow"` applies every one of `middlewareThrottles` in shadow mode, whatever its own
   * mode: counted and reported (events with `enforced: false`), never rejecting nor delaying,
   * no rate-limit headers. @default "enforce": each throttle's own mode
   */
  mode?: ThrottleMode;
}

/** Checks `ThrottleMiddleware` options once, at startup. @internal */
export function middlewareSettings<C>(options: ThrottleMiddlewareOptions<C>): {
  entries: readonly MiddlewareThrottle<C>[];
  /** The entries' throttles, in the same order. */
  throttles: readonly BaseThrottle<C>[];
  settings: Settings;
} {
  rejectUnknownOptions("ThrottleMiddleware", options, THROTTLE_MIDDLEWARE_OPTION_NAMES);
  const overrides = checkOptions(options as ThrottleMiddlewareOptions<never>, "ThrottleMiddleware");
  const hooks = readAppHooks("ThrottleMiddleware", options);
  const entries = [...(options.middlewareThrottles ?? [])];
  for (const entry of entries) {
    if (typeof entry?.matches !== "function") {
      throw new ConfigurationError(
        "ThrottleMiddleware: middlewareThrottles must be made with MiddlewareThrottle(throttle, filters).",
      );
    }
  }
  if (options.backend !== undefined && !(options.backend instanceof ThrottleBackend)) {
    throw new ConfigurationError("ThrottleMiddleware: backend must be a ThrottleBackend.");
  }
  const backend = options.backend;
  if (backend !== undefined) {
    // Throttles without a backend of their own take the app's: claiming their uids on it now
    // finds two throttles sharing one here, at startup, rather than at the first request.
    // Resolved through an attached probe, not `backend.run`: on Node 20 a single `run` turns on
    // AsyncLocalStorage's hooks for good, a cost on every promise of the process (Hono on
    // `bench:http`: async_hooks' init was ~3% of the server's CPU).
    const probe = {};
    backend.attachTo(probe);
    for (const { throttle } of entries) {
      if (!throttle.dynamicBackend) throttle.resolveBackend(probe as C);
    }
  }
  const shadow = isShadowMode(options.mode, "ThrottleMiddleware");
  const access = accessCheck(options, "ThrottleMiddleware") as Settings["access"];
  return {
    entries,
    throttles: entries.map((entry) => entry.throttle),
    settings: Object.freeze({ ...appSettings(overrides, backend, hooks), access, shadow }),
  };
}
