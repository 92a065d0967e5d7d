/**
 * Traffik for Hono 4, on `@hono/node-server` or any runtime that speaks the Fetch API.
 *
 * @example
 * app.use(ThrottleMiddleware({ backend, middlewareThrottles: [MiddlewareThrottle(api, { path: "/api/" })] }));
 * app.get("/api/search", throttled(burst, perMinute), handler);
 *
 * @module
 */
import type { Context, MiddlewareHandler, Next } from "hono";
import { type IdentifiableConnection, readNodeRequestWith } from "../../identity/client-address.js";
import type { Eventually } from "../../throttles/sync-or-async.js";
import { SignalDeparture } from "../../throttles/turn.js";
import {
  middlewareSettings,
  type ThrottleMiddlewareOptions,
} from "../shared/middleware-throttle.js";
import type { RateLimitDecision } from "../shared/rate-limit-decision.js";
import type { HeaderList } from "../shared/rate-limit-headers.js";
import { settingsFor, shareSettings } from "../shared/request-state.js";
import { type Answer, throttleInOrder, throttleTogether } from "../shared/request-throttling.js";
import { parseThrottledArgs, type ThrottledArgs } from "../shared/throttled-args.js";
import { honoNodeRequest } from "./node-request.js";
import { writeToNodeResponse } from "./node-response-headers.js";
import { HonoResponseEnding } from "./response-ending.js";

export * from "../shared/public.js";

declare module "hono" {
  interface ContextVariableMap {
    /**
     * The rate limit as it stands for this request, once a Traffik throttle has decided it
     * (`undefined` before): `c.get("traffik")`. Not `rateLimit`, which hono-rate-limiter sets.
     */
    traffik?: RateLimitDecision | undefined;
  }
}

/**
 * The context variables Traffik sets, for an app that types its own: `new Hono<{ Variables:
 * MyVariables & TraffikVariables }>()`.
 */
export interface TraffikVariables {
  /** The rate limit as it stands for this request, once a throttle has decided it. */
  traffik?: RateLimitDecision | undefined;
}

// The default identifier finds a Context's client on `@hono/node-server`, in `env.incoming`.
readNodeRequestWith(honoNodeRequest);

/**
 * What the throttles see: the `Context`, typed so that throttles of Node requests (the default
 * identifier's) fit as well as throttles of Contexts. A Context has none of a Node request's
 * fields; the default identifier finds its Node request through `honoNodeRequest`.
 */
export type HonoConnection = Context & IdentifiableConnection;

/**
 * A route middleware applying the throttles all or nothing: the request counts against every
 * throttle or, if any rejects it, against none. The throttles see the `Context`; the default
 * identifier reads the client address `@hono/node-server` gives. On other runtimes, give the
 * throttles an `identifier` (for example with your runtime's `getConnInfo`). Options may come first.
 *
 * Two functions are named `throttled`, on purpose: this one is route middleware, the same in every
 * HTTP adapter; `traffik`'s `throttled` is the method decorator (and function wrapper), for
 * code outside a framework's routes. Both apply their throttles all or nothing.
 *
 * @example
 * app.post("/login", throttled(perIp, perAccount), login);
 * @throws {ConfigurationError} at once, for anything but throttles and options.
 */
export function throttled(...args: ThrottledArgs<HonoConnection>): MiddlewareHandler {
  const { overrides, throttles } = parseThrottledArgs(args);
  return function traffikThrottled(c, next) {
    const settings = settingsFor(c, overrides);
    const departure = new SignalDeparture(c.req.raw);
    const ending = settings.refund && new HonoResponseEnding(c);
    return answerWhenDecided(
      throttleTogether(throttles, c, settings, departure, ending),
      c,
      next,
      ending,
    );
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
export function ThrottleMiddleware(
  options: ThrottleMiddlewareOptions<HonoConnection> = {},
): MiddlewareHandler {
  const { entries, throttles, settings } = middlewareSettings(options);
  return function traffikMiddleware(c, next) {
    shareSettings(c, settings);
    if (entries.length === 0) return next();
    const departure = new SignalDeparture(c.req.raw);
    const ending = settings.refund && new HonoResponseEnding(c);
    return answerWhenDecided(
      throttleInOrder(entries, throttles, c, pathOf, c.req.method, settings, departure, ending),
      c,
      next,
      ending,
    );
  };
}

function pathOf(c: HonoConnection): string {
  return c.req.path;
}

/**
 * Answers the request once decided: in the same turn when the decision is (an `async`
 * function would wait a microtask for it, and make a promise more).
 */
function answerWhenDecided(
  verdict: Eventually<Answer>,
  c: Context,
  next: Next,
  ending: HonoResponseEnding | undefined,
): Promise<Response | undefined> {
  return verdict instanceof Promise
    ? verdict.then((ready) => answer(ready, c, next, ending))
    : answer(verdict, c, next, ending);
}

function answer(
  verdict: Answer,
  c: Context,
  next: Next,
  ending: HonoResponseEnding | undefined,
): Promise<Response | undefined> {
  // Its client gone while it waited for its turn (the request's signal aborted), the request
  // runs nothing; Hono needs a response all the same, which nobody will read.
  if (verdict.abandoned) {
    return Promise.resolve(new Response(null, { status: CLIENT_CLOSED_REQUEST }));
  }
  if (verdict.decision !== undefined) c.set("traffik", verdict.decision);
  const { throttled, response } = verdict;
  const onNode = writeToNodeResponse(c, verdict.headers);
  if (!onNode) {
    // Set before the handler, the headers travel in any response built with the Context.
    for (const [name, value] of verdict.headers) c.header(name, value);
  }
  if (throttled === undefined) {
    // On Node the headers are on the response already, whatever the handler builds.
    if (onNode && ending === undefined) return next() as Promise<undefined>;
    return runHandlers(c, next, ending, onNode ? NO_HEADERS : verdict.headers);
  }
  ending?.settle(response?.status ?? throttled.status);
  if (response === undefined) return Promise.reject(throttled);
  return Promise.resolve(
    c.body(response.text, response.status as 429, {
      ...throttled.headers,
      "Content-Type": response.contentType,
    }),
  );
}

/** The handlers after this middleware, then the refund's outcome and the headers they lack. */
async function runHandlers(
  c: Context,
  next: Next,
  ending: HonoResponseEnding | undefined,
  missing: HeaderList,
): Promise<undefined> {
  try {
    await next();
  } finally {
    ending?.settle();
  }
  addMissing(c.res, missing);
  return undefined;
}

const NO_HEADERS: HeaderList = [];

/** The status of a request its client gave up (nginx's 499): it is never sent. */
const CLIENT_CLOSED_REQUEST = 499;

/** Adds the headers a Response built without the Context (`new Response(...)`) lacks. */
function addMissing(res: Response, headers: HeaderList): void {
  for (const [name, value] of headers) {
    if (res.headers.has(name)) continue;
    try {
      res.headers.set(name, value);
    } catch {
      // Immutable headers (a proxied fetch Response): leave that response as it is.
      return;
    }
  }
}
