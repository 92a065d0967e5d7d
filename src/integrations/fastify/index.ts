/**
 * Traffik for Fastify 5.
 *
 * @example
 * await app.register(ThrottleMiddleware, { backend, middlewareThrottles: [MiddlewareThrottle(api, { path: "/api/" })] });
 * app.get("/api/search", { onRequest: throttled(burst, perMinute) }, handler);
 *
 * @module
 */
import type { FastifyPluginCallback, FastifyReply, FastifyRequest } from "fastify";
import { readyToServe } from "../../throttles/backend-access.js";
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

export * from "../shared/public.js";

declare module "fastify" {
  interface FastifyRequest {
    /**
     * The rate limit as it stands for this request, once a Traffik throttle has decided it
     * (`undefined` before). Not `rateLimit`, which other rate limiters may set.
     */
    traffik?: RateLimitDecision | undefined;
  }
}

/** A Fastify hook, for a route's `onRequest` (cheapest: before the body is read) or `preHandler`. */
export type ThrottleHook = (
  request: FastifyRequest,
  reply: FastifyReply,
  done: (error?: Error) => void,
) => void;

/**
 * A route hook applying the throttles all or nothing: the request counts against every throttle
 * or, if any rejects it, against none. The throttles see the `FastifyRequest`, whose `ip`
 * follows Fastify's `trustProxy`. Options may come first.
 *
 * Two functions are named `throttled`, on purpose: this one is route hook, the same in every
 * HTTP adapter; `traffik`'s `throttled` is the method decorator (and function wrapper), for
 * code outside a framework's routes. Both apply their throttles all or nothing.
 *
 * @example
 * app.post("/login", { onRequest: throttled(perIp, perAccount) }, login);
 * @throws {ConfigurationError} at once, for anything but throttles and options.
 */
export function throttled(...args: ThrottledArgs<FastifyRequest>): ThrottleHook {
  const { overrides, throttles } = parseThrottledArgs(args);
  const decideRequest = (request: FastifyRequest, reply: FastifyReply): Eventually<Answer> => {
    const settings = settingsFor(request, overrides);
    return throttleTogether(
      throttles,
      request,
      settings,
      new StreamDeparture(reply.raw),
      settings.refund && nodeResponseEnding(reply.raw),
    );
  };
  return function traffikThrottled(request, reply, done) {
    whenDecided(decideRequest, answer, request, reply, done);
  };
}

/**
 * The app-wide plugin: applies `middlewareThrottles` in order in an `onRequest` hook, each where
 * its filter matches, and installs `backend` for every route and handler: it is initialized when
 * the app is ready and closed with it. Not encapsulated: it covers the routes of the instance it
 * is registered on and of its children.
 *
 * @example
 * await app.register(ThrottleMiddleware, { backend, middlewareThrottles: [MiddlewareThrottle(writes, { methods: ["POST"] })] });
 */
export const ThrottleMiddleware: FastifyPluginCallback<ThrottleMiddlewareOptions<FastifyRequest>> =
  Object.assign(
    function traffik(
      fastify: Parameters<FastifyPluginCallback>[0],
      options: ThrottleMiddlewareOptions<FastifyRequest>,
      done: (error?: Error) => void,
    ): void {
      let checked: ReturnType<typeof middlewareSettings<FastifyRequest>>;
      try {
        checked = middlewareSettings(options);
      } catch (error) {
        done(error as Error);
        return;
      }
      const { entries, throttles, settings } = checked;
      const backend = settings.backend;
      // Declared once, so every request has the field from the start and keeps its shape.
      if (!fastify.hasRequestDecorator("traffik")) fastify.decorateRequest("traffik", undefined);
      const decideRequest = (request: FastifyRequest, reply: FastifyReply): Eventually<Answer> =>
        throttleInOrder(
          entries,
          throttles,
          request,
          pathOf,
          request.method,
          settings,
          new StreamDeparture(reply.raw),
          settings.refund && nodeResponseEnding(reply.raw),
        );
      fastify.addHook("onRequest", (request, reply, next) => {
        shareSettings(request, settings);
        if (entries.length === 0) next();
        else whenDecided(decideRequest, answer, request, reply, next);
      });
      if (backend !== undefined) {
        fastify.addHook("onReady", async () => readyToServe(backend));
        fastify.addHook("onClose", async () => backend.close());
      }
      done();
    },
    {
      [Symbol.for("skip-override")]: true,
      [Symbol.for("fastify.display-name")]: "traffik",
    },
  );

/** Answers a decided request: on to the route (`done()`), to the error handler, or a 429. */
function answer(
  verdict: Answer,
  request: FastifyRequest,
  reply: FastifyReply,
  done: (error?: Error) => void,
): void {
  // Its client gone while it waited for its turn, the request is dropped: neither the route
  // nor the error handler runs for it. A custom handleThrottled may have answered already.
  if (verdict.abandoned || reply.sent) return;
  if (verdict.decision !== undefined) request.traffik = verdict.decision;
  for (const [name, value] of verdict.headers) reply.header(fastifyHeaderName(name), value);
  const { throttled, response } = verdict;
  if (throttled === undefined) done();
  else if (response === undefined) done(throttled);
  else {
    reply.code(response.status).headers(throttled.headers).type(response.contentType);
    reply.send(response.text);
  }
}

const lowerCaseNames = new Map<string, string>();

/**
 * `name` in lower case, as Fastify keeps header names (and sends them). Fastify lowercases
 * each name it is given, and a name it made keys its headers object through the string table:
 * a loop of `reply.header`'s code on the two `RateLimit` names took 310–420 ns a request with
 * the names as written, 130–200 with them in lower case.
 */
function fastifyHeaderName(name: string): string {
  let lower = lowerCaseNames.get(name);
  if (lower === undefined) {
    lower = name.toLowerCase();
    lowerCaseNames.set(name, lower);
  }
  return lower;
}

function pathOf(request: FastifyRequest): string {
  const url = request.url;
  const query = url.indexOf("?");
  return query === -1 ? url : url.slice(0, query);
}
