/**
 * Traffik for Koa 2 and 3 (and `@koa/router`).
 *
 * @example
 * app.use(ThrottleMiddleware({ backend, middlewareThrottles: [MiddlewareThrottle(api, { path: "/api/" })] }));
 * router.get("/api/search", throttled(burst, perMinute), handler);
 *
 * @module
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { ConnectionDenied, ConnectionThrottled } from "../../errors.js";
import {
  middlewareSettings,
  type ThrottleMiddlewareOptions,
} from "../shared/middleware-throttle.js";
import type { RateLimitDecision } from "../shared/rate-limit-decision.js";
import { nodeResponseEnding } from "../shared/refunds.js";
import { settingsFor, shareSettings } from "../shared/request-state.js";
import { type Answer, throttleInOrder, throttleTogether } from "../shared/request-throttling.js";
import { StreamDeparture } from "../shared/stream-departure.js";
import { parseThrottledArgs, type ThrottledArgs } from "../shared/throttled-args.js";
import { type KoaProxySettings, proxyCheck } from "./proxy-check.js";

export * from "../shared/public.js";
export type { KoaProxySettings } from "./proxy-check.js";

/**
 * The slice of a Koa `Context` read and written here; Koa's own `Context` (and
 * `@koa/router`'s) fits it, so `@types/koa` is not needed to use this module.
 */
export interface KoaContext {
  /** Node's request, for an identifier of your own that reads its socket or headers. */
  readonly req: IncomingMessage;
  /** Node's response: its closing tells a request waiting for its turn that its client left. */
  readonly res: ServerResponse;
  /** Koa's client address: the socket's peer, or the proxy header's when `app.proxy` is on. */
  readonly ip: string;
  /** The request's path, which a `MiddlewareThrottle`'s `path` filter matches. */
  readonly path: string;
  /** The request's method, which a `MiddlewareThrottle`'s `methods` filter matches. */
  readonly method: string;
  /**
   * Whether the response has begun (a throttle's `handleThrottled` may have answered): Traffik
   * then writes nothing more.
   */
  readonly headerSent: boolean;
  /** The application, read for its proxy settings: a permissive one gets a warning. */
  readonly app: KoaProxySettings;
  /** The response's status, set to 429 for a throttled request. */
  status: number;
  /** The response's body, set to the throttled request's JSON. */
  body: unknown;
  /** The response's content type, set for a throttled request's body. */
  type: string;
  /** Where middleware passes data on: Traffik sets `traffik`, the request's rate limit. */
  readonly state: object;
  /** Sets a response header: the rate-limit headers, and a throttled response's `Retry-After`. */
  set(field: string, value: string): void;
}

/**
 * What Traffik adds to `ctx.state`: give it to Koa's (or `@koa/router`'s) state type, as in
 * `new Koa<TraffikState>()`, and `ctx.state.traffik` is typed in every handler.
 */
export interface TraffikState {
  /**
   * The rate limit as it stands for this request, once a Traffik throttle has decided it
   * (`undefined` before).
   */
  traffik?: RateLimitDecision | undefined;
}

/** A Koa middleware, usable with `app.use`, `router.get`, and so on. */
export type KoaMiddleware<C extends KoaContext = KoaContext> = (
  ctx: C,
  next: () => Promise<unknown>,
) => Promise<unknown>;

/**
 * What `respondWith: "error"` throws: the `ConnectionThrottled` (or, for an address on a
 * `denyList`, the `ConnectionDenied`), shaped as Koa's `ctx.throw` errors are (`status` 429 or
 * 403, `headers`, and `expose`, so Koa's default handler sends its message and does not log it
 * as a server fault).
 */
export type KoaThrottledError = (ConnectionThrottled | ConnectionDenied) & {
  /** Tells Koa the message is the client's to see: it is sent, and not logged as a fault. */
  readonly expose: true;
};

/**
 * A route middleware applying the throttles all or nothing: the request counts against every
 * throttle or, if any rejects it, against none. The throttles see the Koa `Context`, whose `ip`
 * follows Koa's `app.proxy` and `app.maxIpsCount`. Options may come first.
 *
 * Not the `throttled` of `traffik`, which wraps a function or decorates a method; this one is
 * the framework's route middleware, with the same vocabulary in every HTTP adapter.
 *
 * @example
 * router.post("/login", throttled(perIp, perAccount), login);
 * router.get("/feed", throttled({ headers: "draft-7" }, feed), handler);
 * @throws {ConfigurationError} at once, for anything but throttles and options.
 */
export function throttled<C extends KoaContext = KoaContext>(
  ...args: ThrottledArgs<C>
): KoaMiddleware<C> {
  const { overrides, throttles } = parseThrottledArgs(args);
  const checkProxy = proxyCheck();
  // Not async: Koa takes any promise, and a request decided at once (the in-memory backend)
  // goes on with `next()`'s own, sparing the hot path a few promises.
  return function traffikThrottled(ctx, next) {
    checkProxy(ctx.app);
    const settings = settingsFor(ctx, overrides);
    const verdict = throttleTogether(
      throttles,
      ctx,
      settings,
      new StreamDeparture(ctx.res),
      settings.refund && nodeResponseEnding(ctx.res),
    );
    return verdict instanceof Promise
      ? verdict.then((decided) => answer(decided, ctx, next))
      : answer(verdict, ctx, next);
  };
}

/**
 * The app-wide middleware: installs `backend` for everything after it and applies
 * `middlewareThrottles` in order, each where its filter matches (on `ctx.path` and
 * `ctx.method`). Close the backend with the server: `server.on("close", () => backend.close())`.
 *
 * @example
 * app.use(ThrottleMiddleware({ backend, middlewareThrottles: [MiddlewareThrottle(writes, { methods: ["POST"] })] }));
 */
export function ThrottleMiddleware<C extends KoaContext = KoaContext>(
  options: ThrottleMiddlewareOptions<C> = {},
): KoaMiddleware<C> {
  const { entries, throttles, settings } = middlewareSettings(options);
  const checkProxy = proxyCheck();
  return function traffikMiddleware(ctx, next) {
    checkProxy(ctx.app);
    shareSettings(ctx, settings);
    if (entries.length === 0) return next();
    const departure = new StreamDeparture(ctx.res);
    const verdict = throttleInOrder(
      entries,
      throttles,
      ctx,
      pathOf,
      ctx.method,
      settings,
      departure,
      settings.refund && nodeResponseEnding(ctx.res),
    );
    return verdict instanceof Promise
      ? verdict.then((decided) => answer(decided, ctx, next))
      : answer(verdict, ctx, next);
  };
}

function pathOf(ctx: KoaContext): string {
  return ctx.path;
}

/**
 * Answers a decided request: on down the chain, a Koa error (a rejection, as Koa takes what a
 * middleware throws), or a 429.
 */
function answer(verdict: Answer, ctx: KoaContext, next: () => Promise<unknown>): Promise<unknown> {
  // Its client gone while it waited for its turn, the request is dropped: nothing runs for it,
  // and Koa writes nothing to a socket that is gone. A custom handleThrottled may have answered.
  if (verdict.abandoned || ctx.headerSent) return ANSWERED;
  if (verdict.decision !== undefined) (ctx.state as TraffikState).traffik = verdict.decision;
  for (const [name, value] of verdict.headers) ctx.set(name, value);
  const { throttled, response } = verdict;
  if (throttled === undefined) return next();
  if (response === undefined) return Promise.reject(asKoaError(throttled));
  ctx.status = response.status;
  for (const [name, value] of Object.entries(throttled.headers)) ctx.set(name, value);
  ctx.type = response.contentType;
  ctx.body = response.text;
  return ANSWERED;
}

/** What a middleware that ends the chain returns. */
const ANSWERED: Promise<void> = Promise.resolve();

/**
 * Koa's error handling reads `status`, `headers` and `expose` from what is thrown, as
 * `ctx.throw(429, ...)` makes it: a throttled request is the client's to fix, not a fault.
 */
function asKoaError(error: ConnectionThrottled | ConnectionDenied): KoaThrottledError {
  return Object.assign(error, { expose: true as const });
}
