/**
 * Traffik for Express 4 and 5, and any Connect-style or `node:http` server.
 *
 * @example
 * app.use(ThrottleMiddleware({ backend, middlewareThrottles: [MiddlewareThrottle(api, { path: "/api/" })] }));
 * app.get("/api/search", throttled(burst, perMinute), handler);
 *
 * @module
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Eventually } from "../../throttles/sync-or-async.js";
import {
  middlewareSettings,
  type ThrottleMiddlewareOptions,
} from "../shared/middleware-throttle.js";
import type { RateLimitDecision } from "../shared/rate-limit-decision.js";
import { nodeResponseEnding } from "../shared/refunds.js";
import { settingsFor, shareSettings } from "../shared/request-state.js";
import {
  type Answer,
  throttleInOrder,
  throttleTogether,
  whenDecided,
} from "../shared/request-throttling.js";
import { StreamDeparture } from "../shared/stream-departure.js";
import { parseThrottledArgs, type ThrottledArgs } from "../shared/throttled-args.js";
import { trustProxyCheck } from "./trust-proxy.js";

export * from "../shared/public.js";

declare global {
  // Express's own way to type what middleware adds to its requests.
  namespace Express {
    interface Request {
      /**
       * The rate limit as it stands for this request, once a Traffik throttle has decided it
       * (`undefined` before). Not `rateLimit`, which express-rate-limit sets.
       */
      traffik?: RateLimitDecision;
    }
  }
}

/** The slice of an Express request read here; a plain `IncomingMessage` will do. */
export interface ExpressRequest extends IncomingMessage {
  /** Express's client address, under its `trust proxy` setting. */
  readonly ip?: string | undefined;
  /** Express's path, relative to where the middleware is mounted. */
  readonly path?: string;
  /** The rate limit as it stands for this request, set once a throttle has decided it. */
  traffik?: RateLimitDecision | undefined;
}

/** A Connect-style middleware, usable with `app.use`, `router.get`, and so on. */
export type ExpressMiddleware<C extends ExpressRequest = ExpressRequest> = (
  req: C,
  res: ServerResponse,
  next: (error?: unknown) => void,
) => void;

/**
 * A route middleware applying the throttles all or nothing: the request counts against every
 * throttle or, if any rejects it, against none. Options may come first.
 *
 * Two functions are named `throttled`, on purpose: this one is route middleware, the same in every
 * HTTP adapter; `traffik`'s `throttled` is the method decorator (and function wrapper), for
 * code outside a framework's routes. Both apply their throttles all or nothing.
 *
 * @example
 * app.post("/login", throttled(perIp, perAccount), login);
 * app.get("/feed", throttled({ headers: "draft-7" }, feed), handler);
 * @throws {ConfigurationError} at once, for anything but throttles and options.
 */
export function throttled<C extends ExpressRequest = ExpressRequest>(
  ...args: ThrottledArgs<C>
): ExpressMiddleware<C> {
  const { overrides, throttles } = parseThrottledArgs(args);
  const checkTrustProxy = trustProxyCheck();
  const decideRequest = (req: C, res: ServerResponse): Eventually<Answer> => {
    const settings = settingsFor(req, overrides);
    return throttleTogether(
      throttles,
      req,
      settings,
      new StreamDeparture(res),
      settings.refund && nodeResponseEnding(res),
    );
  };
  return function traffikThrottled(req, res, next) {
    checkTrustProxy(req);
    whenDecided(decideRequest, answer, req, res, next);
  };
}

/**
 * The app-wide middleware: installs `backend` for everything after it and applies
 * `middlewareThrottles` in order, each where its filter matches. Close the backend with the
 * server: `server.on("close", () => backend.close())`.
 *
 * @example
 * app.use(ThrottleMiddleware({ backend, middlewareThrottles: [MiddlewareThrottle(writes, { methods: ["POST"] })] }));
 */
export function ThrottleMiddleware<C extends ExpressRequest = ExpressRequest>(
  options: ThrottleMiddlewareOptions<C> = {},
): ExpressMiddleware<C> {
  const { entries, throttles, settings } = middlewareSettings(options);
  const checkTrustProxy = trustProxyCheck();
  const decideRequest = (req: C, res: ServerResponse): Eventually<Answer> =>
    throttleInOrder(
      entries,
      throttles,
      req,
      pathOf,
      req.method ?? "GET",
      settings,
      new StreamDeparture(res),
      settings.refund && nodeResponseEnding(res),
    );
  return function traffikMiddleware(req, res, next) {
    checkTrustProxy(req);
    shareSettings(req, settings);
    if (entries.length === 0) next();
    else whenDecided(decideRequest, answer, req, res, next);
  };
}

function answer(
  verdict: Answer,
  req: ExpressRequest,
  res: ServerResponse,
  next: (error?: unknown) => void,
): void {
  // Its client gone while it waited for its turn, the request is dropped: nothing runs for it.
  // A custom handleThrottled may have answered already.
  if (verdict.abandoned || res.headersSent) return;
  if (verdict.decision !== undefined) req.traffik = verdict.decision;
  for (const [name, value] of verdict.headers) res.setHeader(name, value);
  const { throttled, response } = verdict;
  if (throttled === undefined) {
    next();
    return;
  }
  if (response === undefined) {
    next(throttled);
    return;
  }
  res.statusCode = response.status;
  for (const [name, value] of Object.entries(throttled.headers)) res.setHeader(name, value);
  res.setHeader("Content-Type", response.contentType);
  res.setHeader("Content-Length", Buffer.byteLength(response.text));
  res.end(response.text);
}

function pathOf(req: ExpressRequest): string {
  if (typeof req.path === "string") return req.path;
  const url = req.url ?? "/";
  const query = url.indexOf("?");
  return query === -1 ? url : url.slice(0, query);
}
